// The page and its JSON apply exactly the pull rights /v2/ applies: a repository the
// caller may not pull does not exist for it (absent from every list, 404 by name),
// "stored" speaks only of the repository asked about, and an anonymous token opens
// nothing. Run in htpasswd mode and in token mode, and in headless chromium as a
// user who may pull one team's repositories only.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MediaTypes } from '../shared/manifest.js';
import { parseDigest } from '../shared/reference.js';
import { authFiles, basic, fetchToken } from './helpers/auth.js';
import { launchChromium, noBrowser } from './helpers/browser.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { blob, built, describe as descriptor, image } from './helpers/images.js';

const RULES = {
  rules: [
    { repositories: ['**'], users: ['admin'], actions: ['pull', 'push', 'delete'] },
    { repositories: ['team-a/*'], users: ['alice'], actions: ['pull', 'push'] },
  ],
};
const USERS = { admin: 'admin-pw', alice: 'alice-pw', nobody: 'nobody-pw' };
const secretLayer = blob('team-b secret layer');
const teamB = image({ layers: ['team-b secret layer'], annotations: { 'secret.note': 'team-b only' } });
const teamA = image({ layers: ['team-a layer'] });

for (const mode of ['htpasswd', 'token'] as const) {
  describe(`the page's JSON, ${mode} mode, as alice (team-a/* only)`, () => {
    let d: TestDaemon;
    let dir: string;
    let asAlice: Record<string, string>;
    let asNobody: Record<string, string>;
    const get = async (path: string, headers: Record<string, string>) => new Client(d).req('GET', path, { headers });

    before(async () => {
      const files = await authFiles(USERS, RULES);
      dir = files.dir;
      d = await startDaemon({ serve: { auth: mode, htpasswd: files.htpasswd, rules: files.rules } });
      const admin = mode === 'htpasswd'
        ? { Authorization: basic('admin', USERS.admin) }
        : { Authorization: `Bearer ${(await fetchToken(d.url, ['repository:team-a/app:pull,push', 'repository:team-b/x:pull,push'], { user: 'admin', password: USERS.admin })).token}` };
      const c = new Client(d);
      const pushAs = async (name: string, m: typeof teamA, tag: string) => {
        for (const b of m.blobs) {
          const r = await c.req('POST', `/v2/${name}/blobs/uploads/?digest=${b.digest}`, { body: b.data, headers: { ...admin, 'Content-Type': 'application/octet-stream' } });
          assert.equal(r.status, 201, `blob into ${name}`);
        }
        const r = await c.req('PUT', `/v2/${name}/manifests/${tag}`, { body: m.body, headers: { ...admin, 'Content-Type': m.mediaType } });
        assert.equal(r.status, 201, `manifest into ${name}`);
      };
      await pushAs('team-b/x', teamB, 'v1');
      await pushAs('team-a/app', teamA, 'v1');
      if (mode === 'htpasswd') {
        asAlice = { Authorization: basic('alice', USERS.alice) };
        asNobody = { Authorization: basic('nobody', USERS.nobody) };
      } else {
        // What a page user sends in token mode: a token of its own, or Basic credentials (a browser).
        asAlice = { Authorization: `Bearer ${(await fetchToken(d.url, [], { user: 'alice', password: USERS.alice })).token}` };
        asNobody = { Authorization: basic('nobody', USERS.nobody) };
      }
    });
    after(async () => {
      await d.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('/v2/ agrees: alice may pull team-a/app, not team-b/x', async () => {
      const token = mode === 'token' ? (await fetchToken(d.url, ['repository:team-b/x:pull'], { user: 'alice', password: USERS.alice })).token : undefined;
      const r = await get('/v2/team-b/x/manifests/v1', token ? { Authorization: `Bearer ${token}` } : asAlice);
      assert.equal(r.status, mode === 'token' ? 401 : 403);
    });

    test('repositories and the HTML page list only what alice may pull', async () => {
      const repos = await get('/_ui/api/repositories', asAlice);
      assert.equal(repos.status, 200);
      assert.deepEqual(repos.json.repositories.map((r: { name: string }) => r.name), ['team-a/app']);
      assert.equal(repos.json.total, 1);
      const search = await get('/_ui/api/repositories?q=team-b', asAlice);
      assert.deepEqual(search.json.repositories, []);
      const html = await get('/', asAlice);
      assert.equal(html.status, 200);
      assert.match(html.body.toString(), /team-a\/app/);
      assert.doesNotMatch(html.body.toString(), /team-b/);
    });

    test('a user no rule names sees no repository at all', async () => {
      const repos = await get('/_ui/api/repositories', asNobody);
      assert.equal(repos.status, 200);
      assert.deepEqual(repos.json.repositories, []);
      assert.doesNotMatch((await get('/', asNobody)).body.toString(), /team-/);
    });

    test("team-b/x's tags, history and revisions are 404 NAME_UNKNOWN, like a repository that does not exist", async () => {
      for (const path of [
        '/_ui/api/tags?repo=team-b/x',
        '/_ui/api/history?repo=team-b/x&tag=v1',
        `/_ui/api/revision?repo=team-b/x&digest=${teamB.digest}`,
        '/_ui/api/tags?repo=team-b/nothing-here',
      ]) {
        const r = await get(path, asAlice);
        assert.equal(r.status, 404, path);
        assert.equal(r.json.errors[0].code, 'NAME_UNKNOWN', path);
        assert.doesNotMatch(r.body.toString(), /secret|team-b only/, path);
      }
      const missing = await get('/_ui/api/tags?repo=team-a/missing', asAlice);
      assert.equal(missing.status, 404, 'a repository alice may pull that does not exist');
      const own = await get('/_ui/api/tags?repo=team-a/app', asAlice);
      assert.equal(own.status, 200);
      assert.deepEqual(own.json.tags.map((t: { tag: string }) => t.tag), ['v1']);
    });

    test('"stored" means linked in this repository: a foreign layer naming team-b\'s blob is not an oracle', async () => {
      // alice pushes to team-a/app a manifest whose layer is foreign (urls), with team-b's layer digest.
      const config = blob('{"probe":true}');
      const c = new Client(d);
      const pushHeaders = mode === 'htpasswd'
        ? asAlice
        : { Authorization: `Bearer ${(await fetchToken(d.url, ['repository:team-a/app:pull,push'], { user: 'alice', password: USERS.alice })).token}` };
      const up = await c.req('POST', `/v2/team-a/app/blobs/uploads/?digest=${config.digest}`, { body: config.data, headers: { ...pushHeaders, 'Content-Type': 'application/octet-stream' } });
      assert.equal(up.status, 201);
      const random = `sha256:${'ab'.repeat(32)}`;
      const foreign = (digest: string) => ({ mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest, size: secretLayer.data.length, urls: ['https://example.invalid/layer'] });
      const probe = built(
        { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptor(config, 'application/vnd.oci.image.config.v1+json'), layers: [foreign(secretLayer.digest), foreign(random)] },
        MediaTypes.ociManifest,
      );
      const put = await c.req('PUT', `/v2/team-a/app/manifests/probe`, { body: probe.body, headers: { ...pushHeaders, 'Content-Type': probe.mediaType } });
      assert.equal(put.status, 201, put.body.toString());
      const r = await get(`/_ui/api/revision?repo=team-a/app&digest=${probe.digest}`, asAlice);
      assert.equal(r.status, 200);
      const stored = Object.fromEntries(r.json.layers.map((l: { digest: string; stored: boolean }) => [l.digest, l.stored]));
      assert.deepEqual(stored, { [secretLayer.digest]: false, [random]: false }, 'neither is linked in team-a/app');
      const mine = await get(`/_ui/api/revision?repo=team-a/app&digest=${teamA.digest}`, asAlice);
      assert.ok(mine.json.layers.every((l: { stored: boolean }) => l.stored), "team-a/app's own layers are stored");
    });

    test('without credentials the page, its JSON and /metrics answer 401', async () => {
      for (const path of ['/', '/_ui/api/repositories', '/_ui/app.js', '/metrics']) {
        assert.equal((await get(path, {})).status, 401, path);
      }
    });

    if (mode === 'token') {
      test('an anonymous token opens nothing that needs a signed-in user', async () => {
        const anon = await fetchToken(d.url, []);
        assert.equal(anon.status, 200);
        for (const path of ['/', '/_ui/api/repositories', '/_ui/api/tags?repo=team-a/app', '/metrics']) {
          const r = await get(path, { Authorization: `Bearer ${anon.token}` });
          assert.equal(r.status, 401, path);
          assert.doesNotMatch(r.body.toString(), /team-/, path);
        }
      });

      test('a browser signs in to the page with Basic credentials: the challenge is Basic', async () => {
        const r = await get('/', {});
        assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
        assert.equal((await get('/', { Authorization: basic('alice', 'wrong') })).status, 401);
        assert.equal((await get('/_ui/api/repositories', { Authorization: basic('alice', USERS.alice) })).json.total, 1);
      });
    }
  });
}

describe('the page in headless chromium, as alice (team-a/* only)', () => {
  const skip = noBrowser;
  for (const mode of ['htpasswd', 'token'] as const) {
    test(`${mode} mode: the list shows team-a only, and a link to team-b/x shows no such repository`, { skip, timeout: 60_000 }, async () => {
      const files = await authFiles(USERS, RULES);
      const d = await startDaemon({ serve: { auth: mode, htpasswd: files.htpasswd, rules: files.rules } });
      const browser = await launchChromium();
      try {
        // Pushed through the store directly as the admin would: the page is what is under test.
        const { openRegistry } = await import('../store/index.js');
        const reg = openRegistry(d.root);
        for (const [name, m] of [['team-a/app', teamA], ['team-a/web', image()], ['team-b/x', teamB]] as const) {
          for (const b of m.blobs) {
            await reg.blobs.write(parseDigest(b.digest), b.data);
            await reg.repos.linkLayer(name, parseDigest(b.digest));
          }
          await reg.manifests.put(name, m.body, m.mediaType, undefined, ['v1']);
        }
        const context = await browser.newContext({ httpCredentials: { username: 'alice', password: USERS.alice } });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${d.url}/`);
        await page.waitForFunction(() => document.querySelectorAll('#repo-list a').length >= 2);
        assert.deepEqual(await page.$$eval('#repo-list a', (as) => as.map((a) => (a as HTMLElement).dataset.repo)), ['team-a/app', 'team-a/web']);
        assert.doesNotMatch((await page.textContent('body'))!, /team-b/);

        await page.goto(`${d.url}/#repo=team-b/x&tag=v1`);
        await page.waitForFunction(() => /not known/.test(document.querySelector('#view')?.textContent ?? ''));
        assert.doesNotMatch((await page.textContent('#view'))!, /team-b only|v1 ·/);
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
        await d.close();
        await rm(files.dir, { recursive: true, force: true });
      }
    });
  }
});
