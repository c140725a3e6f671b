// Who may do what: a table of user × repository × action with the
// expected answer in every cell, run against the real daemon in htpasswd mode and
// again in token mode. In token mode every refusal is 401 (the client is told to
// fetch a better token: error="insufficient_scope"), where htpasswd mode answers
// 403 DENIED to a signed-in user.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { blob, image, type Built } from './helpers/images.js';
import { authFiles, basic, fetchToken } from './helpers/auth.js';

const RULES = `
groups:
  devs: [alice, bob]
rules:
  - repositories: ["**"]
    users: [admin]
    actions: [pull, push, delete]
  - repositories: ["team/**"]
    groups: [devs]
    actions: [pull]
  - repositories: ["team/**"]
    users: [alice]
    actions: [push, delete]
  - repositories: ["public/*"]
    anonymous: true
    actions: [pull]
  - repositories: ["scratch/*"]
    authenticated: true
    actions: [pull, push]
`;

const USERS = ['admin', 'alice', 'bob', 'carol'] as const;
type User = (typeof USERS)[number] | 'anonymous';
const password = (u: string) => `pw-${u}-S3cret!`;
const REPOS = ['team/app', 'public/base', 'secret/db'] as const;
type Repo = (typeof REPOS)[number];

// pull: GET manifest :1 → 200. push: monolithic blob upload → 201. delete: DELETE of
// a blob the admin just pushed → 202. catalog: whether _catalog lists the repository
// (or the status when the caller may not list at all). mount / mountAny: mounting the
// repository's layer into scratch/<user> with and without `from` → 201 mounted,
// 202 a plain upload instead (the caller may not pull the source).
interface Cell {
  pull: number;
  push: number;
  delete: number;
  catalog: 'listed' | 'hidden' | 401;
  mount: number;
  mountAny: number;
}
const c = (pull: number, push: number, del: number, catalog: Cell['catalog'], mount: number, mountAny: number): Cell => ({
  pull, push, delete: del, catalog, mount, mountAny,
});

// As htpasswd mode answers; token mode turns every 403 into 401.
const MATRIX: Record<User, Record<Repo, Cell>> = {
  admin: {
    'team/app':    c(200, 201, 202, 'listed', 201, 201),
    'public/base': c(200, 201, 202, 'listed', 201, 201),
    'secret/db':   c(200, 201, 202, 'listed', 201, 201),
  },
  alice: {
    'team/app':    c(200, 201, 202, 'listed', 201, 201),
    'public/base': c(200, 403, 403, 'listed', 201, 201),
    'secret/db':   c(403, 403, 403, 'hidden', 202, 202),
  },
  bob: {
    'team/app':    c(200, 403, 403, 'listed', 201, 201),
    'public/base': c(200, 403, 403, 'listed', 201, 201),
    'secret/db':   c(403, 403, 403, 'hidden', 202, 202),
  },
  carol: {
    'team/app':    c(403, 403, 403, 'hidden', 202, 202),
    'public/base': c(200, 403, 403, 'listed', 201, 201),
    'secret/db':   c(403, 403, 403, 'hidden', 202, 202),
  },
  anonymous: {
    'team/app':    c(401, 401, 401, 401, 401, 401),
    'public/base': c(200, 401, 401, 401, 401, 401),
    'secret/db':   c(401, 401, 401, 401, 401, 401),
  },
};

const images: Record<Repo, Built> = {
  'team/app': image({ layers: ['matrix team/app layer'] }),
  'public/base': image({ layers: ['matrix public/base layer'] }),
  'secret/db': image({ layers: ['matrix secret/db layer'] }),
};
const bytes = (b: Buffer) => b as unknown as BodyInit;
const layerOf = (repo: Repo) => images[repo].blobs.find((b) => b.data.toString().startsWith('matrix'))!;

for (const mode of ['htpasswd', 'token'] as const) {
  describe(`access matrix, --auth ${mode}`, () => {
    let d: TestDaemon;
    let dir: string;
    let n = 0;
    const unique = (what: string) => blob(`${mode} ${what} ${n++} ${Math.random()}`);

    /** Authorization for `user` doing what `scopes` name: Basic, or a token fetched with those scopes. */
    async function auth(user: User, scopes: string[]): Promise<Record<string, string>> {
      if (mode === 'htpasswd') return user === 'anonymous' ? {} : { Authorization: basic(user, password(user)) };
      const creds = user === 'anonymous' ? undefined : { user, password: password(user) };
      const t = await fetchToken(d.url, scopes, creds);
      assert.equal(t.status, 200, `token for ${user}: ${JSON.stringify(t.body)}`);
      return { Authorization: `Bearer ${t.token}` };
    }
    const admin = () => auth('admin', REPOS.map((r) => `repository:${r}:pull,push,delete`));
    const expect = (status: number) => (mode === 'token' && status === 403 ? 401 : status);

    before(async () => {
      const files = await authFiles(Object.fromEntries(USERS.map((u) => [u, password(u)])), RULES);
      dir = files.dir;
      d = await startDaemon({ serve: { auth: mode, htpasswd: files.htpasswd, rules: files.rules } });
      const headers = await admin();
      for (const repo of REPOS) {
        const m = images[repo];
        for (const b of m.blobs) {
          const r = await fetch(`${d.url}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: bytes(b.data), headers });
          assert.equal(r.status, 201);
        }
        const r = await fetch(`${d.url}/v2/${repo}/manifests/1`, { method: 'PUT', body: bytes(m.body), headers: { ...headers, 'Content-Type': m.mediaType } });
        assert.equal(r.status, 201);
      }
    });
    after(async () => {
      await d?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    for (const user of [...USERS, 'anonymous'] as User[]) {
      for (const repo of REPOS) {
        const cell = MATRIX[user][repo];
        test(`${user} × ${repo}: pull ${cell.pull}, push ${cell.push}, delete ${cell.delete}, catalog ${cell.catalog}, mount ${cell.mount}/${cell.mountAny}`, async () => {
          const got: Record<string, unknown> = {};
          const want: Record<string, unknown> = {};
          const check = (key: keyof Cell, status: unknown, expected: unknown) => {
            got[key] = status;
            want[key] = expected;
          };

          let r = await fetch(`${d.url}/v2/${repo}/manifests/1`, { headers: { ...(await auth(user, [`repository:${repo}:pull`])), Accept: images[repo].mediaType } });
          check('pull', r.status, expect(cell.pull));
          if (r.status === 200) assert.equal(r.headers.get('docker-content-digest'), images[repo].digest);
          else assert.ok(r.headers.get('www-authenticate') || r.status === 403, 'a 401 carries a challenge');

          const pushed = unique('push');
          r = await fetch(`${d.url}/v2/${repo}/blobs/uploads/?digest=${pushed.digest}`, {
            method: 'POST', body: bytes(pushed.data), headers: await auth(user, [`repository:${repo}:pull,push`]),
          });
          check('push', r.status, expect(cell.push));

          const doomed = unique('delete');
          const byAdmin = await fetch(`${d.url}/v2/${repo}/blobs/uploads/?digest=${doomed.digest}`, { method: 'POST', body: bytes(doomed.data), headers: await admin() });
          assert.equal(byAdmin.status, 201);
          r = await fetch(`${d.url}/v2/${repo}/blobs/${doomed.digest}`, { method: 'DELETE', headers: await auth(user, [`repository:${repo}:delete`]) });
          check('delete', r.status, expect(cell.delete));

          r = await fetch(`${d.url}/v2/_catalog`, { headers: await auth(user, ['registry:catalog:*']) });
          if (r.status === 200) check('catalog', ((await r.json()) as any).repositories.includes(repo) ? 'listed' : 'hidden', cell.catalog);
          else check('catalog', r.status, cell.catalog);

          const target = `scratch/${user === 'anonymous' ? 'anon' : user}`;
          const layer = layerOf(repo);
          const mountScopes = [`repository:${target}:pull,push`, `repository:${repo}:pull`];
          r = await fetch(`${d.url}/v2/${target}/blobs/uploads/?mount=${layer.digest}&from=${repo}`, { method: 'POST', headers: await auth(user, mountScopes) });
          check('mount', r.status, expect(cell.mount));
          if (r.status === 201) assert.equal(r.headers.get('location'), `/v2/${target}/blobs/${layer.digest}`);
          // Undo, so the next column starts from a repository without the layer.
          if (r.status === 201) assert.equal((await fetch(`${d.url}/v2/${target}/blobs/${layer.digest}`, { method: 'DELETE', headers: await admin2(target) })).status, 202);
          r = await fetch(`${d.url}/v2/${target}/blobs/uploads/?mount=${layer.digest}`, { method: 'POST', headers: await auth(user, mountScopes) });
          check('mountAny', r.status, expect(cell.mountAny));
          if (r.status === 201) assert.equal((await fetch(`${d.url}/v2/${target}/blobs/${layer.digest}`, { method: 'DELETE', headers: await admin2(target) })).status, 202);

          assert.deepEqual(got, want, `${user} × ${repo}`);
        });
      }
    }

    const admin2 = (target: string) => auth('admin', [`repository:${target}:delete`]);

    test('GET /v2/ needs a signed-in caller (or, in token mode, any valid token)', async () => {
      const anon = await fetch(`${d.url}/v2/`);
      assert.equal(anon.status, 401);
      const challenge = anon.headers.get('www-authenticate') ?? '';
      if (mode === 'htpasswd') assert.match(challenge, /^Basic realm="cairn"/);
      else assert.equal(challenge, `Bearer realm="${d.url}/token",service="cairn"`);
      assert.equal(((await anon.json()) as any).errors[0].code, 'UNAUTHORIZED');
      assert.equal((await fetch(`${d.url}/v2/`, { headers: await auth('carol', []) })).status, 200);
      const wrong = await fetch(`${d.url}/v2/`, { headers: { Authorization: basic('carol', 'not her password') } });
      assert.equal(wrong.status, 401);
    });

    test('a manifest path that reads two ways needs the action on both repositories', async () => {
      // team/app/manifests/1/<digest> is tag "1"'s history in team/app, or a digest in team/app/manifests/1.
      const path = `/v2/team/app/manifests/1/${images['team/app'].digest}`;
      const bob = await fetch(d.url + path, { headers: await auth('bob', ['repository:team/app:pull', 'repository:team/app/manifests/1:pull']) });
      assert.equal(bob.status, 200, 'bob may pull team/** and both readings are under it');
      const carol = await fetch(d.url + path, { headers: await auth('carol', ['repository:team/app:pull']) });
      assert.equal(carol.status, expect(403));
    });
  });
}
