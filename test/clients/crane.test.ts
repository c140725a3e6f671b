// crane (go-containerregistry) against the real daemon: a multi-platform index
// copied between repositories, the catalog, tags, digests and manifests read back,
// a layer appended and the config mutated into new tags, and a delete by digest.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { type Built, index, realImage, sha256, tarLayer } from '../helpers/images.js';
import { ok, run, tool } from './tools.js';

const crane = tool('crane', 'go install github.com/google/go-containerregistry/cmd/crane@v0.22.1 (.ci/tools.sh does)');

describe('crane', { skip: crane.skip }, () => {
  let d: TestDaemon;
  let work: string;
  let amd64: Built;
  let arm64: Built;
  let idx: Built;
  const c = (...args: string[]) => ok(crane.path, [...args, '--insecure'], { cwd: work, env: { HOME: work } });
  const ref = (r: string) => `${d.host}/${r}`;
  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-crane-'));
    amd64 = await realImage({ 'etc/arch': 'amd64\n' });
    arm64 = await realImage({ 'etc/arch': 'arm64\n' });
    idx = index([amd64, arm64]);
    const client = new Client(d);
    await client.pushImage('crane/src', amd64);
    await client.pushImage('crane/src', arm64);
    assert.equal((await client.putManifest('crane/src', 'multi', idx)).status, 201);
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('copy a multi-platform index; the copy has the same digest and both children', async () => {
    await c('copy', ref('crane/src:multi'), ref('crane/dst:multi'));
    assert.equal((await c('digest', ref('crane/dst:multi'))).trim(), idx.digest);
    const client = new Client(d);
    for (const child of [amd64, arm64]) {
      const r = await client.req('GET', `/v2/crane/dst/manifests/${child.digest}`, { headers: { Accept: child.mediaType } });
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), child.digest);
    }
  });

  test('catalog, ls, digest and manifest read what the registry holds', async () => {
    assert.deepEqual((await c('catalog', d.host)).trim().split('\n'), ['crane/dst', 'crane/src']);
    assert.deepEqual((await c('ls', ref('crane/src'))).trim().split('\n'), ['multi']);
    const manifest = await c('manifest', ref('crane/src:multi'));
    assert.equal(manifest, idx.body.toString(), 'the exact bytes pushed');
    const platform = await c('digest', ref('crane/src:multi'), '--platform', 'linux/arm64');
    assert.equal(platform.trim(), arm64.digest);
  });

  test('append a layer, then mutate the config: new revisions, pullable, the first one untouched', async () => {
    const layer = join(work, 'extra.tar.gz');
    await writeFile(layer, await tarLayer({ 'opt/extra.txt': 'appended by crane\n' }));
    await c('append', '-b', ref(`crane/src@${amd64.digest}`), '-f', layer, '-t', ref('crane/app:appended'));
    const appended = JSON.parse(await c('manifest', ref('crane/app:appended')));
    assert.equal(appended.layers.length, 2);
    await c('mutate', ref('crane/app:appended'), '--label', 'org.example.stage=mutated', '--env', 'CAIRN=1', '-t', ref('crane/app:mutated'));
    const config = JSON.parse(await c('config', ref('crane/app:mutated')));
    assert.equal(config.config.Labels['org.example.stage'], 'mutated');
    assert.ok(config.config.Env.includes('CAIRN=1'));
    // crane pull of the mutated image works end to end (every blob served).
    await c('pull', ref('crane/app:mutated'), join(work, 'mutated.tar'));
    assert.equal((await c('digest', ref(`crane/src@${amd64.digest}`))).trim(), amd64.digest, 'the base revision is unchanged');
  });

  test('delete by digest: the revision and its tag go, the other revisions stay', async () => {
    const digest = (await c('digest', ref('crane/app:mutated'))).trim();
    await c('delete', ref(`crane/app@${digest}`));
    const gone = await run(crane.path, ['manifest', ref(`crane/app@${digest}`), '--insecure'], { env: { HOME: work } });
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /MANIFEST_UNKNOWN/);
    assert.deepEqual((await c('ls', ref('crane/app'))).trim().split('\n'), ['appended']);
  });
});
