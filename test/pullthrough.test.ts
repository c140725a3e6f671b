// The pull-through cache over real upstreams: a second Cairn in token mode (the
// Bearer flow with credentials from a file), CNCF Distribution without auth, and a
// small fake registry for what no real one does on purpose (lie, count requests).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadUpstreams } from '../daemon/pullthrough/config.js';
import { Paths } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';
import { authFiles, basic } from './helpers/auth.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { noDistribution, startDistribution } from './helpers/distribution.js';
import { DAY, ageTree, cairnGc } from './helpers/gc.js';
import { type FakeUpstream, startFakeUpstream } from './helpers/fake-upstream.js';
import type { ServeOptions } from '../daemon/main.js';
import { artifact, blob, built, describe as descriptor, image } from './helpers/images.js';
import { spawnDaemon } from './helpers/cli.js';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const RULES = { rules: [{ repositories: ['lib/*'], users: ['pusher'], actions: ['pull', 'push'] }, { repositories: ['lib/*'], users: ['puller'], actions: ['pull'] }] };
const ACCEPT = { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };

/** An upstreams file for `entries`, in a temp folder with the puller's password beside it. */
async function upstreamsFile(dir: string, entries: unknown[]): Promise<string> {
  const file = join(dir, 'upstreams.yaml');
  await writeFile(file, JSON.stringify({ upstreams: entries }));
  return file;
}

async function token(up: TestDaemon, user: string, password: string, scope: string): Promise<string> {
  const res = await fetch(`${up.url}/token?service=cairn&scope=${encodeURIComponent(scope)}`, { headers: { Authorization: basic(user, password) } });
  return ((await res.json()) as { token: string }).token;
}

describe('pull-through from a Cairn in token mode', () => {
  let dir: string;
  let up: TestDaemon;
  let cache: TestDaemon;
  let c: Client;
  let pushToken: string;
  const v1 = image({ layers: ['through v1 layer'] });
  const v2 = image({ layers: ['through v2 layer'] });

  const pushUp = async (m: typeof v1, tag: string) => {
    const h = { Authorization: `Bearer ${pushToken}` };
    for (const b of m.blobs) {
      const r = await fetch(`${up.url}/v2/lib/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.data as unknown as BodyInit, headers: h });
      assert.equal(r.status, 201);
    }
    const r = await fetch(`${up.url}/v2/lib/app/manifests/${tag}`, { method: 'PUT', body: m.body as unknown as BodyInit, headers: { ...h, 'Content-Type': m.mediaType } });
    assert.equal(r.status, 201);
  };

  before(async () => {
    const files = await authFiles({ pusher: 'pusher-Pa55word', puller: 'puller-Pa55word' }, RULES);
    dir = files.dir;
    up = await startDaemon({ serve: { auth: 'token', htpasswd: files.htpasswd, rules: files.rules } });
    pushToken = await token(up, 'pusher', 'pusher-Pa55word', 'repository:lib/app:pull,push');
    await pushUp(v1, 'stable');
    await writeFile(join(dir, 'puller.password'), 'puller-Pa55word\n');
    const file = await upstreamsFile(dir, [{ prefix: 'up.test', url: up.url, username: 'puller', passwordFile: join(dir, 'puller.password'), ttl: '1s' }]);
    cache = await startDaemon({ serve: { upstreams: file } });
    c = new Client(cache.url);
  });
  after(async () => {
    await cache?.close();
    await up?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a tag pulls through, its blobs stream through and are stored, and the repository says where it is from', async () => {
    const r = await c.req('GET', '/v2/up.test/lib/app/manifests/stable', { headers: ACCEPT });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers.get('docker-content-digest'), v1.digest);
    assert.deepEqual(r.body, v1.body);
    for (const b of v1.blobs) {
      const got = await c.req('GET', `/v2/up.test/lib/app/blobs/${b.digest}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, b.data);
    }
    const paths = new Paths(cache.root);
    for (const b of v1.blobs) assert.ok(existsSync(paths.layer('up.test/lib/app', parseDigest(b.digest))), 'the blob is linked once fetched');
    const history = (await c.req('GET', '/v2/up.test/lib/app/_oci/tag-history/stable')).json;
    assert.deepEqual(history.manifests.map((e: { digest: string }) => e.digest), [v1.digest]);
    const page = await c.req('GET', '/_ui/api/tags?repo=up.test/lib/app');
    assert.equal(page.json.upstream, up.url);
  });

  test('a push into the cached prefix is refused with a clear 405; other repositories take pushes', async () => {
    const b = blob('not for the cache');
    const r = await c.req('POST', `/v2/up.test/lib/app/blobs/uploads/?digest=${b.digest}`, { body: b.data });
    assert.equal(r.status, 405);
    assert.equal(r.json.errors[0].code, 'UNSUPPORTED');
    assert.match(r.json.errors[0].message, /pull-through cache of .*push to a name outside up\.test\//);
    await c.pushImage('local/app', v1, 'x');
  });

  test('after the ttl, an upstream move is fetched and recorded; the old revision stays pullable by digest and through the history', async () => {
    await pushUp(v2, 'stable');
    await new Promise((r) => setTimeout(r, 1100));
    const r = await c.req('GET', '/v2/up.test/lib/app/manifests/stable', { headers: ACCEPT });
    assert.equal(r.headers.get('docker-content-digest'), v2.digest);
    const history = (await c.req('GET', '/v2/up.test/lib/app/_oci/tag-history/stable')).json.manifests.map((e: { digest: string }) => e.digest);
    assert.deepEqual(history, [v2.digest, v1.digest]);
    assert.equal((await c.req('GET', `/v2/up.test/lib/app/manifests/${v1.digest}`, { headers: ACCEPT })).status, 200);
    assert.equal((await c.req('GET', `/v2/up.test/lib/app/manifests/stable/${v1.digest}`, { headers: ACCEPT })).status, 200);
  });

  test('referrers come from the upstream on demand, are checked, and stay listed', async () => {
    const sig = artifact('application/vnd.dev.cosign.artifact.sig.v1+json', v1);
    await pushUp(sig, sig.digest);
    const list = await c.req('GET', `/v2/up.test/lib/app/referrers/${v1.digest}`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.manifests.map((m: { digest: string }) => m.digest), [sig.digest]);
    assert.ok(existsSync(new Paths(cache.root).referrer('up.test/lib/app', parseDigest(v1.digest), parseDigest(sig.digest))));
  });

  test('with the upstream gone, everything pulled before still pulls, by tag and by digest, and the metrics say so', async () => {
    await up.close();
    const sigs = await c.req('GET', `/v2/up.test/lib/app/referrers/${v1.digest}`);
    assert.equal(sigs.json.manifests.length, 1, 'the referrer fetched before is still listed');
    await new Promise((r) => setTimeout(r, 1100)); // past the ttl: the cache asks, and cannot
    const byTag = await c.req('GET', '/v2/up.test/lib/app/manifests/stable', { headers: ACCEPT });
    assert.equal(byTag.status, 200);
    assert.equal(byTag.headers.get('docker-content-digest'), v2.digest);
    for (const b of v1.blobs) assert.deepEqual((await c.req('GET', `/v2/up.test/lib/app/blobs/${b.digest}`)).body, b.data);
    assert.equal((await c.req('GET', `/v2/up.test/lib/app/manifests/${v1.digest}`, { headers: ACCEPT })).status, 200);
    const missing = await c.req('GET', '/v2/up.test/lib/app/manifests/never-pulled', { headers: ACCEPT });
    assert.equal(missing.status, 502);
    assert.match(missing.json.errors[0].message, /could not answer/);
    const metrics = (await c.req('GET', '/metrics')).body.toString();
    assert.match(metrics, /cairn_pullthrough_stale_served_total\{upstream="up.test"\} [1-9]/);
    assert.match(metrics, /cairn_pullthrough_upstream_errors_total\{upstream="up.test"\} [1-9]/);
    assert.match(metrics, /cairn_pullthrough_misses_total\{kind="blob"\} [1-9]/);
  });
});

/** POST, then PUT with the bytes: Distribution 2.8 takes no monolithic POST ?digest=. */
async function pushInTwoSteps(url: string, name: string, m: ReturnType<typeof image>, tag: string): Promise<void> {
  for (const b of m.blobs) {
    const start = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, url);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, { method: 'PUT', body: b.data as unknown as BodyInit, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201);
  }
  const r = await fetch(`${url}/v2/${name}/manifests/${tag}`, { method: 'PUT', body: m.body as unknown as BodyInit, headers: { 'Content-Type': m.mediaType } });
  assert.equal(r.status, 201);
}

// In CI Distribution must run (.ci/run installs it): a missing one fails there.
describe('pull-through from CNCF Distribution', { skip: process.env.CI ? false : noDistribution }, () => {
  test('a Distribution repository pulls through, and containerd’s ?ns= names the same repository', async () => {
    const dist = await startDistribution();
    const cache = await startDaemon({ serve: { upstream: [`dist.test=${dist.url}`] } });
    try {
      const m = image({ layers: ['from distribution'] });
      await pushInTwoSteps(dist.url, 'library/base', m, '1.0');
      const c = new Client(cache.url);
      const viaNs = await c.req('GET', '/v2/library/base/manifests/1.0?ns=dist.test', { headers: ACCEPT });
      assert.equal(viaNs.status, 200, viaNs.body.toString());
      assert.equal(viaNs.headers.get('docker-content-digest'), m.digest);
      for (const b of m.blobs) assert.deepEqual((await c.req('GET', `/v2/dist.test/library/base/blobs/${b.digest}`)).body, b.data);
      assert.deepEqual((await c.req('GET', '/v2/dist.test/library/base/tags/list')).json.tags, ['1.0']);
    } finally {
      await cache.close();
      await dist.stop();
    }
  });
});

/** A daemon caching `fake.test/` from a fake upstream, for `fn`; both closed after. */
async function withFakeCache(serve: Partial<ServeOptions>, fn: (fake: FakeUpstream, cache: TestDaemon) => Promise<void>): Promise<void> {
  const fake = await startFakeUpstream();
  const cache = await startDaemon({ serve: { upstream: [`fake.test=${fake.url}`], ...serve } });
  try {
    await fn(fake, cache);
  } finally {
    await cache.close();
    await fake.close();
  }
}

describe('pull-through from an upstream that lies or is slow', () => {
  test('a manifest that does not hash to its digest is not stored: 502, and nothing under the repository', async () => {
    await withFakeCache({}, async (fake, cache) => {
      const m = image({ layers: ['lied about'] });
      fake.add('lib/x', 'v1', m);
      fake.lies.set(m.digest, Buffer.concat([m.body, Buffer.from(' ')])); // the same manifest to a parser, other bytes
      const r = await new Client(cache.url).req('GET', '/v2/fake.test/lib/x/manifests/v1', { headers: ACCEPT });
      assert.equal(r.status, 502);
      assert.match(r.json.errors[0].message, /hash to .*not .*nothing was stored/);
      assert.ok(!existsSync(new Paths(cache.root).revisionsDir('fake.test/lib/x')));
      assert.ok(!existsSync(new Paths(cache.root).tagsDir('fake.test/lib/x')));
    });
  });

  test('a blob with wrong bytes: the client’s transfer is cut short of its length, and nothing is stored', async () => {
    await withFakeCache({}, async (fake, cache) => {
      const m = image({ layers: ['the true layer'] });
      fake.add('lib/x', 'v1', m);
      const layer = m.blobs[1]!;
      fake.lies.set(layer.digest, Buffer.from('the fals layer'));
      assert.equal((await new Client(cache.url).req('GET', '/v2/fake.test/lib/x/manifests/v1', { headers: ACCEPT })).status, 200);
      let received = 0;
      let cut = false;
      try {
        const res = await fetch(`${cache.url}/v2/fake.test/lib/x/blobs/${layer.digest}`);
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
      } catch {
        cut = true;
      }
      assert.ok(cut, 'the transfer ends in an error');
      assert.ok(received < layer.data.length, 'the client never receives a whole body');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!existsSync(new Paths(cache.root).blob(parseDigest(layer.digest))), 'the bad bytes are not stored');
      assert.ok(!existsSync(new Paths(cache.root).layer('fake.test/lib/x', parseDigest(layer.digest))));
    });
  });

  test('16 clients pulling one missing 64 MiB blob share one upstream GET, all verified, and one who leaves cancels nothing', async () => {
    await withFakeCache({}, async (fake, cache) => {
      const big = Buffer.alloc(64 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 2654435761 >>> 0, i);
      const layer = blob(big);
      const config = blob('{"architecture":"amd64","os":"linux"}');
      const m = built({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: descriptor(config, 'application/vnd.oci.image.config.v1+json'), layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')] }, 'application/vnd.oci.image.manifest.v1+json', [config, layer]);
      fake.add('lib/big', 'v1', m);
      fake.chunkDelayMs = 5; // long enough for every client to arrive while it fills
      const url = `${cache.url}/v2/fake.test/lib/big/blobs/${layer.digest}`;
      const quitter = new AbortController();
      const leaving = fetch(url, { signal: quitter.signal }).then(async (res) => {
        const reader = res.body!.getReader();
        await reader.read();
        quitter.abort();
      }).catch(() => undefined);
      const pulls = Array.from({ length: 16 }, async () => {
        const res = await fetch(url);
        const hash = createHash('sha256');
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
        return `sha256:${hash.digest('hex')}`;
      });
      await leaving;
      const digests = await Promise.all(pulls);
      assert.deepEqual(new Set(digests), new Set([layer.digest]));
      const gets = fake.requests.filter((r) => r === `GET /v2/lib/big/blobs/${layer.digest}`);
      assert.equal(gets.length, 1, fake.requests.join('\n'));
      assert.ok(existsSync(new Paths(cache.root).blob(parseDigest(layer.digest))));
    });
  });
});

describe('pull-through of a tag that moves back', () => {
  test('to a revision the cache holds: the tag moves, and nothing is fetched again', async () => {
    const fake = await startFakeUpstream();
    const dir = await mkdtemp(join(tmpdir(), 'cairn-pt-back-'));
    const cache = await startDaemon({ serve: { upstreams: await upstreamsFile(dir, [{ prefix: 'fake.test', url: fake.url, ttl: '0s' }]) } });
    try {
      const c = new Client(cache.url);
      const [a, b] = [image({ layers: ['back a'] }), image({ layers: ['back b'] })];
      const pull = async () => (await c.req('GET', '/v2/fake.test/lib/x/manifests/t', { headers: ACCEPT })).headers.get('docker-content-digest');
      fake.add('lib/x', 't', a);
      assert.equal(await pull(), a.digest);
      fake.add('lib/x', 't', b);
      assert.equal(await pull(), b.digest);
      fake.add('lib/x', 't', a);
      const before = fake.requests.length;
      assert.equal(await pull(), a.digest);
      assert.deepEqual(fake.requests.slice(before), ['HEAD /v2/lib/x/manifests/t'], 'one HEAD, no GET');
      const history = (await c.req('GET', '/v2/fake.test/lib/x/_oci/tag-history/t')).json.manifests.map((e: { digest: string }) => e.digest);
      assert.deepEqual(history, [a.digest, b.digest]);
    } finally {
      await cache.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pull-through auth and transport', () => {
  test('an upstream asking for Basic gets the credentials of passwordEnv', async () => {
    const files = await authFiles({ puller: 'puller-Pa55word' });
    const up = await startDaemon({ serve: { auth: 'htpasswd', htpasswd: files.htpasswd } });
    const m = image({ layers: ['behind basic'] });
    const auth = { Authorization: basic('puller', 'puller-Pa55word') };
    for (const b of m.blobs) assert.equal((await fetch(`${up.url}/v2/lib/b/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.data as unknown as BodyInit, headers: auth })).status, 201);
    assert.equal((await fetch(`${up.url}/v2/lib/b/manifests/1`, { method: 'PUT', body: m.body as unknown as BodyInit, headers: { ...auth, 'Content-Type': m.mediaType } })).status, 201);
    process.env.CAIRN_TEST_UPSTREAM_PASSWORD = 'puller-Pa55word';
    const file = await upstreamsFile(files.dir, [{ prefix: 'basic.test', url: up.url, username: 'puller', passwordEnv: 'CAIRN_TEST_UPSTREAM_PASSWORD' }]);
    const cache = await startDaemon({ serve: { upstreams: file } });
    try {
      const r = await new Client(cache.url).req('GET', '/v2/basic.test/lib/b/manifests/1', { headers: ACCEPT });
      assert.equal(r.status, 200, r.body.toString());
      assert.deepEqual((await new Client(cache.url).req('GET', `/v2/basic.test/lib/b/blobs/${m.blobs[1]!.digest}`)).body, m.blobs[1]!.data);
    } finally {
      delete process.env.CAIRN_TEST_UPSTREAM_PASSWORD;
      await cache.close();
      await up.close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });

  test('an upstream over TLS with its own CA: trusted through `ca`, refused without it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-pt-tls-'));
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    const up = await startDaemon({ serve: { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') } });
    const m = image({ layers: ['over tls'] });
    const trusting = await startDaemon({ serve: { upstreams: await upstreamsFile(dir, [{ prefix: 'tls.test', url: up.url, ca: join(dir, 'cert.pem') }]) } });
    const doubting = await startDaemon({ serve: { upstream: [`tls.test=${up.url}`] } });
    try {
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // only for this push to the test's upstream
      try {
        await new Client(up.url).pushImage('lib/t', m, '1');
      } finally {
        delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      }
      const ok = await new Client(trusting.url).req('GET', '/v2/tls.test/lib/t/manifests/1', { headers: ACCEPT });
      assert.equal(ok.status, 200, ok.body.toString());
      const refused = await new Client(doubting.url).req('GET', '/v2/tls.test/lib/t/manifests/1', { headers: ACCEPT });
      assert.equal(refused.status, 502);
      assert.match(refused.json.errors[0].message, /could not answer \(.*(certificate|self.signed)/i);
    } finally {
      await Promise.all([trusting.close(), doubting.close()]);
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--read-only serves what the cache holds and fetches nothing', async () => {
    await withFakeCache({ readOnly: true }, async (fake, cache) => {
      fake.add('lib/x', 'v1', image({ layers: ['read-only'] }));
      const r = await new Client(cache.url).req('GET', '/v2/fake.test/lib/x/manifests/v1', { headers: ACCEPT });
      assert.equal(r.status, 404);
      assert.deepEqual(fake.requests, []);
    });
  });

  test('a daemon killed mid-fetch leaves no blob, and its next start removes the temp file', async () => {
    const fake = await startFakeUpstream();
    const root = await mkdtemp(join(tmpdir(), 'cairn-pt-crash-'));
    try {
      const layer = blob(Buffer.alloc(16 << 20, 7));
      const config = blob('{}');
      fake.add('lib/c', 'v1', built({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: descriptor(config, 'application/vnd.oci.image.config.v1+json'), layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')] }, 'application/vnd.oci.image.manifest.v1+json', [config, layer]));
      fake.chunkDelayMs = 50; // 16 chunks: the fetch takes most of a second
      const d = await spawnDaemon(root, ['--upstream', `fake.test=${fake.url}`]);
      const res = await fetch(`${d.url}/v2/fake.test/lib/c/blobs/${layer.digest}`);
      const reader = res.body!.getReader();
      await reader.read(); // bytes are arriving: the fill is under way
      await d.kill9();
      const temps = (await readdir(new Paths(root).tmpDir())).length;
      assert.ok(temps > 0, 'the kill left the fill’s temp file');
      assert.ok(!existsSync(new Paths(root).blob(parseDigest(layer.digest))));
      fake.chunkDelayMs = 0;
      const again = await spawnDaemon(root, ['--upstream', `fake.test=${fake.url}`]);
      try {
        assert.equal(again.started.removedTemps, temps);
        const got = await fetch(`${again.url}/v2/fake.test/lib/c/blobs/${layer.digest}`);
        assert.equal(sha(Buffer.from(await got.arrayBuffer())), layer.digest, 'the next pull fetches it whole');
      } finally {
        await again.stop();
      }
    } finally {
      await fake.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('cairn gc --unused', () => {
  test('removes a cached revision not pulled within D (its tag too) and keeps one that was; pushed repositories are untouched', async () => {
    const fake = await startFakeUpstream();
    const root = await mkdtemp(join(tmpdir(), 'cairn-unused-'));
    const serveOpts = { upstream: [`fake.test=${fake.url}`] };
    try {
      const [old, used, pushed] = [image({ layers: ['unused old'] }), image({ layers: ['unused used'] }), image({ layers: ['unused pushed'] })];
      fake.add('lib/x', 'old', old);
      fake.add('lib/x', 'used', used);
      let cache = await startDaemon({ root, serve: serveOpts });
      const c = new Client(cache.url);
      for (const [tag, m] of [['old', old], ['used', used]] as const) {
        assert.equal((await c.req('GET', `/v2/fake.test/lib/x/manifests/${tag}`, { headers: ACCEPT })).status, 200);
        for (const b of m.blobs) assert.equal((await c.req('GET', `/v2/fake.test/lib/x/blobs/${b.digest}`)).status, 200);
      }
      await c.pushImage('mine/app', pushed, 'v1');
      await cache.close();
      await ageTree(root, 3 * DAY);
      cache = await startDaemon({ root, serve: serveOpts }); // a new process: its first pull of `used` marks it served
      assert.equal((await new Client(cache.url).req('GET', '/v2/fake.test/lib/x/manifests/used', { headers: ACCEPT })).status, 200);
      await cache.close();
      const gc = await cairnGc(root, ['--unused', '1d', '--grace', '0s', '--json']);
      assert.equal(gc.code, 0, gc.stderr);
      const paths = new Paths(root);
      assert.ok(!existsSync(paths.tag('fake.test/lib/x', 'old')), 'the unused tag goes');
      assert.ok(!existsSync(paths.revision('fake.test/lib/x', parseDigest(old.digest))));
      assert.ok(!existsSync(paths.blob(parseDigest(old.blobs[1]!.digest))), 'its layer goes');
      assert.ok(existsSync(paths.revision('fake.test/lib/x', parseDigest(used.digest))), 'the one pulled stays');
      assert.ok(existsSync(paths.blob(parseDigest(used.blobs[1]!.digest))));
      assert.ok(existsSync(paths.revision('mine/app', parseDigest(pushed.digest))), 'pushed content is never "unused"');
    } finally {
      await fake.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('upstream configuration', () => {
  test('credentials come from a file or the environment, never the command line; bad entries name their field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-upstreams-'));
    try {
      await writeFile(join(dir, 'pw'), 's3cret\n');
      const file = await upstreamsFile(dir, [
        { prefix: 'docker.io', url: 'https://registry-1.docker.io', username: 'me', passwordFile: join(dir, 'pw') },
        { prefix: 'ghcr.io', url: 'https://ghcr.io', username: 'me', passwordEnv: 'GHCR_TOKEN', ttl: '30s', offline: true },
      ]);
      const [hub, ghcr] = loadUpstreams([], file, { GHCR_TOKEN: 'tok' });
      assert.equal(hub!.creds, 'me:s3cret');
      assert.equal(hub!.library, true, 'Docker Hub names one-component repositories library/…');
      assert.equal(hub!.ttlMs, 5 * 60_000);
      assert.deepEqual([ghcr!.creds, ghcr!.ttlMs, ghcr!.offline, ghcr!.library], ['me:tok', 30_000, true, false]);
      assert.throws(() => loadUpstreams(['quay.io']), /PREFIX=URL/);
      assert.throws(() => loadUpstreams(['a=http://x', 'a=http://y']), /given twice/);
      assert.throws(() => loadUpstreams(['a=http://x', 'a/b=http://y']), /overlap/);
      const bad = await upstreamsFile(dir, [{ prefix: 'q.io', url: 'https://q.io', username: 'me', password: 'inline' }]);
      assert.throws(() => loadUpstreams([], bad), /unknown field password/);
      const noSecret = await upstreamsFile(dir, [{ prefix: 'q.io', url: 'https://q.io', username: 'me' }]);
      assert.throws(() => loadUpstreams([], noSecret), /passwordFile or passwordEnv/);
      const ttl = await upstreamsFile(dir, [{ prefix: 'q.io', url: 'https://q.io', ttl: 300 }]);
      assert.throws(() => loadUpstreams([], ttl), /ttl: 300 is not a duration/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
