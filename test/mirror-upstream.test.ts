// `cairn mirror`: a second local daemon acts as the upstream;
// every platform of an index and the referrers come along, digests are checked,
// and a second run fetches nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { artifact, image, index } from './helpers/images.js';
import { cairn, describeRegistry } from './helpers/mirror.js';
import { authFiles, basic } from './helpers/auth.js';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let up: TestDaemon;
let local: TestDaemon;
const amd = image({ layers: ['mirror amd64'] });
const arm = image({ layers: ['mirror arm64'] });
const multi = index([amd, arm]);
const sig = artifact('application/vnd.dev.cosign.artifact.sig.v1+json', multi);
const plain = image({ layers: ['mirror plain'] });

describe('cairn mirror', () => {
  before(async () => {
    up = await startDaemon();
    local = await startDaemon();
    const c = new Client(up.url);
    await c.pushImage('lib/multi', amd);
    await c.pushImage('lib/multi', arm);
    assert.equal((await c.putManifest('lib/multi', '1', multi)).status, 201);
    await c.pushImage('lib/multi', sig);
    await c.pushImage('lib/plain', plain, 'a');
    await c.pushImage('lib/plain', plain, 'b');
  });
  after(async () => {
    await up?.close();
    await local?.close();
  });

  test('pulls every platform of an index and its referrers, and every tag of a bare name', async () => {
    const run = await cairn('mirror', '--root', local.root, '--from', up.url, 'lib/multi:1', 'lib/plain');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /tags moved: lib\/multi:1, lib\/plain:a, lib\/plain:b/);
    const [u, l] = [await describeRegistry(up.url), await describeRegistry(local.url)] as any[];
    for (const name of ['lib/multi', 'lib/plain']) {
      assert.deepEqual(l[name].byTag, u[name].byTag);
      assert.deepEqual(l[name].manifests, u[name].manifests);
    }
    const referrers = (await new Client(local.url).req('GET', `/v2/lib/multi/referrers/${multi.digest}`)).json;
    assert.deepEqual(referrers.manifests.map((m: { digest: string }) => m.digest), [sig.digest]);
  });

  test('a second run fetches no blob (resumable) and moves no tag', async () => {
    const run = await cairn('mirror', '--root', local.root, '--from', up.url, 'lib/multi:1', `lib/plain@${plain.digest}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, / 0 blob\(s\) fetched/);
    assert.match(run.stdout, /tags moved: none/);
  });

  test('an unknown reference upstream fails with a message', async () => {
    const run = await cairn('mirror', '--root', local.root, '--from', up.url, 'lib/nothing:1');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /lib\/nothing:1: manifest answered 404/);
  });
});

describe('cairn mirror credentials, never on the command line', () => {
  test('from --creds-file, or from CAIRN_MIRROR_CREDS; without them a Basic upstream is refused', async () => {
    const files = await authFiles({ puller: 'puller-Pa55word' });
    const up = await startDaemon({ serve: { auth: 'htpasswd', htpasswd: files.htpasswd } });
    const local = await startDaemon();
    try {
      const m = image({ layers: ['behind basic, mirrored'] });
      const auth = { Authorization: basic('puller', 'puller-Pa55word') };
      for (const b of m.blobs) await fetch(`${up.url}/v2/lib/sec/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.data as unknown as BodyInit, headers: auth });
      assert.equal((await fetch(`${up.url}/v2/lib/sec/manifests/1`, { method: 'PUT', body: m.body as unknown as BodyInit, headers: { ...auth, 'Content-Type': m.mediaType } })).status, 201);
      const refused = await cairn('mirror', '--root', local.root, '--from', up.url, 'lib/sec:1');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /401/);
      const credsFile = join(files.dir, 'creds');
      await writeFile(credsFile, 'puller:puller-Pa55word\n');
      const viaFile = await cairn('mirror', '--root', local.root, '--from', up.url, '--creds-file', credsFile, 'lib/sec:1');
      assert.equal(viaFile.code, 0, viaFile.stderr);
      process.env.CAIRN_MIRROR_CREDS = 'puller:puller-Pa55word';
      try {
        const viaEnv = await cairn('mirror', '--root', local.root, '--from', up.url, 'lib/sec:1');
        assert.equal(viaEnv.code, 0, viaEnv.stderr);
      } finally {
        delete process.env.CAIRN_MIRROR_CREDS;
      }
      assert.equal((await new Client(local.url).req('GET', '/v2/lib/sec/manifests/1', { headers: { Accept: m.mediaType } })).headers.get('docker-content-digest'), m.digest);
    } finally {
      await local.close();
      await up.close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });
});
