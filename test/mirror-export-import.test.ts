// Export from one store, import into another: both serve the same
// bytes and tag histories; an incremental bundle carries only the missing blobs;
// a re-import changes nothing; a corrupt or truncated bundle is refused whole.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { artifact, image, index } from './helpers/images.js';
import { cairn, describeRegistry, layoutBlobs } from './helpers/mirror.js';
import { snapshot } from './helpers/tree.js';

let a: TestDaemon;
let b: TestDaemon;
let work: string;
const v1 = image({ layers: ['shared base', 'v1 app'] });
const v2 = image({ layers: ['shared base', 'v2 app'] });
const v3 = image({ layers: ['shared base', 'v3 app'] });
const amd = image({ layers: ['amd64 layer'] });
const arm = image({ layers: ['arm64 layer'] });
const multi = index([amd, arm]);
const sbom = artifact('application/spdx+json', v2);
const big = image({ layers: [randomBytes(256 * 1024)] });

const ok = (r: { code: number; stderr: string; stdout: string }) => assert.equal(r.code, 0, `${r.stderr}${r.stdout}`);

describe('export and import', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-mirror-'));
    a = await startDaemon();
    b = await startDaemon();
    const c = new Client(a.url);
    await c.pushImage('demo/app', v1, '1');
    await new Promise((r) => setTimeout(r, 5)); // distinct tagged-at times
    await c.pushImage('demo/app', v2, '1');
    await c.pushImage('demo/app', v2, 'stable');
    await c.pushImage('demo/app', amd);
    await c.pushImage('demo/app', arm);
    const r = await c.putManifest('demo/app', 'multi', multi);
    assert.equal(r.status, 201);
    await c.pushImage('demo/app', sbom);
    await c.pushImage('other/big', big, 'latest');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('export --history to a tar, import into an empty store: same bytes, same tag histories', async () => {
    const bundle = join(work, 'all.tar');
    ok(await cairn('export', '--root', a.root, '--out', bundle, '--history', 'demo/app', 'other/big:latest'));
    const run = await cairn('import', '--root', b.root, bundle);
    ok(run);
    assert.match(run.stdout, /tags moved: .*demo\/app:1/);
    assert.deepEqual(await describeRegistry(b.url), await describeRegistry(a.url));
    const history = (await new Client(b.url).req('GET', '/v2/demo/app/_oci/tag-history/1')).json;
    assert.deepEqual(history.manifests.map((m: { digest: string }) => m.digest), [v2.digest, v1.digest]);
  });

  test('importing the same bundle again changes nothing', async () => {
    const before = await snapshot(b.root);
    ok(await cairn('import', '--root', b.root, join(work, 'all.tar')));
    assert.deepEqual(await snapshot(b.root), before);
  });

  test('index.json names each tag for other tools and carries the repository', async () => {
    const dir = join(work, 'app-dir');
    ok(await cairn('export', '--root', a.root, '--out', dir, 'demo/app:multi', 'demo/app:1'));
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    const tagged = idx.manifests.filter((m: any) => m.annotations['org.opencontainers.image.ref.name']);
    assert.deepEqual(
      tagged.map((m: any) => [m.digest, m.annotations['org.opencontainers.image.ref.name'], m.annotations['dev.cairn.repository']]),
      [[multi.digest, 'multi', 'demo/app'], [v2.digest, '1', 'demo/app']],
    );
    // The referrer of v2 comes along by default, as an untagged entry.
    assert.ok(idx.manifests.some((m: any) => m.digest === sbom.digest && m.artifactType === 'application/spdx+json'));
    const blobs = await layoutBlobs(dir);
    for (const d of [multi.digest, amd.digest, arm.digest, ...amd.blobs.map((x) => x.digest), sbom.digest]) assert.ok(blobs.includes(d), d);
    assert.ok(!blobs.includes(v1.digest), 'without --history the old revision stays home');

    const lean = join(work, 'lean-dir');
    ok(await cairn('export', '--root', a.root, '--out', lean, '--no-referrers', 'demo/app:1'));
    assert.ok(!(await layoutBlobs(lean)).includes(sbom.digest));
  });

  test('an incremental bundle against an inventory carries only the missing blobs', async () => {
    const c = new Client(a.url);
    await c.pushImage('demo/app', v3, '1');
    const inv = join(work, 'b.inventory');
    ok(await cairn('inventory', '--root', b.root, '--out', inv));
    const held = (await readFile(inv, 'utf8')).split('\n').filter((l) => l.startsWith('sha256:'));
    assert.ok(held.includes(v2.digest) && held.includes(v2.blobs[0]!.digest));

    const delta = join(work, 'delta');
    const run = await cairn('export', '--root', a.root, '--out', delta, '--history', '--have', inv, 'demo/app:1');
    ok(run);
    const missing = [v3.digest, ...v3.blobs.map((x) => x.digest)].filter((d) => !held.includes(d));
    assert.deepEqual(await layoutBlobs(delta), [...new Set(missing)].sort());
    assert.ok(!missing.includes(v3.blobs[1]!.digest), 'the shared base layer is not carried');
    const idx = JSON.parse(await readFile(join(delta, 'index.json'), 'utf8'));
    assert.deepEqual(idx.manifests.map((m: any) => m.digest), [v3.digest, v2.digest, sbom.digest, v1.digest], 'every revision (and the referrer of v2) is still listed');

    ok(await cairn('import', '--root', b.root, delta));
    assert.deepEqual(await describeRegistry(b.url), await describeRegistry(a.url));
  });

  test('a bundle with one flipped byte is refused whole, naming the blob', async () => {
    const dir = join(work, 'flip');
    ok(await cairn('export', '--root', a.root, '--out', dir, 'other/big:latest', 'demo/app:stable'));
    const layer = big.blobs[1]!;
    const file = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(file);
    bytes[1000] ^= 0x01;
    await writeFile(file, bytes);

    const c = await startDaemon();
    try {
      const before = await snapshot(c.root);
      const run = await cairn('import', '--root', c.root, dir);
      assert.equal(run.code, 1);
      assert.ok(run.stderr.includes(layer.digest), run.stderr);
      assert.match(run.stderr, /nothing was imported/);
      assert.deepEqual(await snapshot(c.root), before);
      assert.equal((await new Client(c.url).req('GET', '/v2/_catalog')).json.repositories.length, 0);
    } finally {
      await c.close();
    }
  });

  test('a tar cut short is refused whole, naming the blob', async () => {
    const file = join(work, 'cut.tar');
    ok(await cairn('export', '--root', a.root, '--out', file, 'other/big:latest'));
    const whole = await readFile(file);
    // Cut inside the big layer: find its bytes in the tar and stop half way through them.
    const at = whole.indexOf(big.blobs[1]!.data.subarray(0, 64));
    assert.ok(at > 0);
    await truncate(file, at + 100_000);
    assert.equal((await stat(file)).size, at + 100_000);

    const root = await mkdtemp(join(tmpdir(), 'cairn-cut-'));
    try {
      const run = await cairn('import', '--root', root, file);
      assert.equal(run.code, 1);
      assert.ok(run.stderr.includes(big.blobs[1]!.digest), run.stderr);
      const after = await snapshot(root);
      assert.deepEqual(Object.keys(after).filter((p) => !p.endsWith('/')), [], 'no file was written outside tmp/');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('bad references and missing bundles are refused with a message', async () => {
    let run = await cairn('export', '--root', a.root, '--out', join(work, 'x.tar'), 'demo/app:nope');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /demo\/app:nope: no such tag/);
    run = await cairn('import', '--root', b.root, join(work, 'does-not-exist.tar'));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no such file/);
  });
});
