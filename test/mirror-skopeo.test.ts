// Bundles and other tools: skopeo reads our export (oci-archive
// and oci: directory) and pushes it to a daemon unchanged; we import skopeo's
// oci-archive output with --repository.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { realImage, type Built } from './helpers/images.js';
import { cairn } from './helpers/mirror.js';

const SKOPEO = process.env.SKOPEO ?? 'skopeo';
let a: TestDaemon;
let b: TestDaemon;
let work: string;
let img: Built;

function skopeo(...args: string[]): Promise<void> {
  const env = { ...process.env, HOME: join(work, 'home'), REGISTRY_AUTH_FILE: join(work, 'auth.json') };
  return new Promise((ok, fail) => {
    execFile(SKOPEO, ['--insecure-policy', '--tmpdir', join(work, 'tmp'), ...args], { env, timeout: 60_000 }, (err, _out, stderr) =>
      err ? fail(new Error(`skopeo ${args.join(' ')}: ${stderr}`)) : ok(),
    );
  });
}

describe('bundles and skopeo', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-mirror-skopeo-'));
    await mkdir(join(work, 'tmp'));
    await writeFile(join(work, 'auth.json'), '{"auths":{}}');
    a = await startDaemon();
    b = await startDaemon();
    img = await realImage({ 'etc/motd': 'exported\n' });
    await new Client(a.url).pushImage('demo/real', img, '1');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo copies our oci-archive export to a registry, bytes unchanged', async () => {
    const file = join(work, 'real.tar');
    const run = await cairn('export', '--root', a.root, '--out', file, 'demo/real:1');
    assert.equal(run.code, 0, run.stderr);
    await skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${file}:1`, `docker://${b.host}/x:1`);
    const r = await new Client(b.url).req('GET', '/v2/x/manifests/1');
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    assert.ok(r.body.equals(img.body));
  });

  test('skopeo copies our directory export (oci:DIR:tag)', async () => {
    const dir = join(work, 'real-dir');
    assert.equal((await cairn('export', '--root', a.root, '--out', dir, 'demo/real:1')).code, 0);
    await skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:1`, `docker://${b.host}/y:1`);
    assert.equal((await new Client(b.url).req('GET', '/v2/y/manifests/1')).headers.get('docker-content-digest'), img.digest);
  });

  test("we import skopeo's oci-archive output into the repository --repository names", async () => {
    const file = join(work, 'from-skopeo.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${a.host}/demo/real:1`, `oci-archive:${file}:v1`);
    const idx = await cairn('import', '--root', b.root, file);
    assert.equal(idx.code, 1, 'without --repository the bundle says nowhere to go');
    assert.match(idx.stderr, /--repository/);
    const run = await cairn('import', '--root', b.root, '--repository', 'imported/real', file);
    assert.equal(run.code, 0, run.stderr);
    const c = new Client(b.url);
    const r = await c.req('GET', '/v2/imported/real/manifests/v1');
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    for (const blob of img.blobs) {
      const got = await c.req('GET', `/v2/imported/real/blobs/${blob.digest}`);
      assert.ok(got.body.equals(blob.data));
    }
    const history = (await c.req('GET', '/v2/imported/real/_oci/tag-history/v1')).json;
    assert.deepEqual(history.manifests.map((m: { digest: string }) => m.digest), [img.digest]);
    // Nothing in the archive gives a time; a repeat keeps the first import's history entry.
    const again = await cairn('import', '--root', b.root, '--repository', 'imported/real', file);
    assert.equal(again.code, 0);
    assert.deepEqual((await c.req('GET', '/v2/imported/real/_oci/tag-history/v1')).json, history);
    assert.ok((await readFile(file)).length > 0);
  });
});
