// End to end with the real skopeo: push two revisions of one tag,
// read both back by digest, check the tag history, copy the old revision out and
// compare bytes, round-trip a Docker schema2 conversion, delete by digest.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MediaTypes } from '../../shared/manifest.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { realImage, sha256, writeOciLayout, type Built } from '../helpers/images.js';
import { assertOciError, rawRequest } from '../helpers/raw.js';

const SKOPEO = process.env.SKOPEO ?? 'skopeo';

let d: TestDaemon;
let work: string;
let v1: Built;
let v2: Built;

/** Runs skopeo with a private HOME, auth file and temp dir; rejects with its stderr. */
function skopeo(...args: string[]): Promise<Buffer> {
  const env = { ...process.env, HOME: join(work, 'home'), REGISTRY_AUTH_FILE: join(work, 'auth.json') };
  const full = ['--insecure-policy', '--tmpdir', join(work, 'tmp'), ...args];
  return new Promise((ok, fail) => {
    execFile(SKOPEO, full, { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`skopeo ${args.join(' ')} failed (${(err as NodeJS.ErrnoException).code ?? err.message}):\n${stderr.toString()}`));
      else ok(stdout);
    });
  });
}

const hexOf = (digest: string) => digest.slice('sha256:'.length);
const get = (path: string, headers: Record<string, string> = {}) => rawRequest(d.url, 'GET', path, { headers });

/** Copies `image` into a new OCI layout under tag `tag` and pushes it; returns the digest skopeo reports. */
async function push(image: Built, layoutName: string, dest: string, extra: string[] = []): Promise<string> {
  const dir = join(work, layoutName);
  await writeOciLayout(dir, [{ image, tag: '1' }]);
  const digestFile = join(work, `${layoutName}.digest`);
  await skopeo('copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile, ...extra, `oci:${dir}:1`, `docker://${d.host}/${dest}`);
  return (await readFile(digestFile, 'utf8')).trim();
}

describe('skopeo end to end', () => {
  before(async () => {
    try {
      await new Promise<void>((ok, fail) => execFile(SKOPEO, ['--version'], (err) => (err ? fail(err) : ok())));
    } catch (err) {
      throw new Error(
        `skopeo is not installed or not on PATH (${(err as Error).message}); install it with "apt-get install -y skopeo" (.ci/run does)`,
      );
    }
    work = await mkdtemp(join(tmpdir(), 'cairn-skopeo-'));
    await writeFile(join(work, 'auth.json'), '{"auths":{}}');
    d = await startDaemon();
    v1 = await realImage({ 'etc/motd': 'revision one\n', 'app/version': '1' });
    v2 = await realImage({ 'etc/motd': 'revision two\n', 'app/version': '2' });
    assert.notEqual(v1.digest, v2.digest);
  });
  after(async () => {
    await d?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo copy pushes the first revision under demo/app:1, bytes unchanged', async () => {
    const digest = await push(v1, 'layout-v1', 'demo/app:1');
    assert.equal(digest, v1.digest, 'the registry kept the manifest bytes skopeo sent');
    const r = await get('/v2/demo/app/manifests/1', { Accept: MediaTypes.ociManifest });
    assert.equal(r.status, 200);
    assert.equal(r.headers['docker-content-digest'], v1.digest);
    assert.ok(r.body.equals(v1.body));
  });

  test('a changed image pushed to the same tag moves the tag', async () => {
    const digest = await push(v2, 'layout-v2', 'demo/app:1');
    assert.equal(digest, v2.digest);
    const r = await get('/v2/demo/app/manifests/1', { Accept: MediaTypes.ociManifest });
    assert.equal(r.headers['docker-content-digest'], v2.digest);
    assert.ok(r.body.equals(v2.body));
  });

  test('skopeo inspect --raw reads both revisions by digest', async () => {
    for (const m of [v1, v2]) {
      const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${d.host}/demo/app@${m.digest}`);
      assert.ok(raw.equals(m.body), `raw manifest of ${m.digest}`);
    }
  });

  test('skopeo inspect describes both revisions by digest', async () => {
    for (const m of [v1, v2]) {
      const info = JSON.parse((await skopeo('inspect', '--tls-verify=false', `docker://${d.host}/demo/app@${m.digest}`)).toString());
      assert.equal(info.Digest, m.digest);
      assert.deepEqual(info.Layers, [m.blobs[1]!.digest]);
      assert.equal(info.Architecture, 'amd64');
      assert.equal(info.Os, 'linux');
      assert.deepEqual(info.RepoTags, ['1']);
    }
  });

  test('the tag history lists both revisions, newest first, annotated', async () => {
    const r = await get('/v2/demo/app/_oci/tag-history/1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.match(String(r.headers['content-type']), /^application\/vnd\.oci\.image\.index\.v1\+json/);
    const idx = r.json;
    assert.equal(idx.schemaVersion, 2);
    assert.equal(idx.mediaType, MediaTypes.ociIndex);
    assert.deepEqual(
      idx.manifests.map((m: { digest: string }) => m.digest),
      [v2.digest, v1.digest],
      'newest first',
    );
    for (const [i, m] of [v2, v1].entries()) {
      const desc = idx.manifests[i];
      assert.equal(desc.mediaType, m.mediaType);
      assert.equal(desc.size, m.size);
      assert.equal(desc.annotations['org.opencontainers.image.ref.name'], '1');
      const at = desc.annotations['dev.cairn.tagged-at'];
      assert.ok(typeof at === 'string' && !Number.isNaN(Date.parse(at)) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(at), `ISO-8601 tagged-at: ${at}`);
    }
    const [newest, oldest] = idx.manifests;
    assert.ok(Date.parse(newest.annotations['dev.cairn.tagged-at']) >= Date.parse(oldest.annotations['dev.cairn.tagged-at']));
    assert.equal(newest.annotations['dev.cairn.current'], 'true');
    assert.equal(oldest.annotations['dev.cairn.current'], undefined, 'only the current revision is marked current');
  });

  test('the old revision is still reachable as tag/digest and copies out by digest byte for byte', async () => {
    const byHistory = await get(`/v2/demo/app/manifests/1/${v1.digest}`);
    assert.equal(byHistory.status, 200);
    assert.ok(byHistory.body.equals(v1.body));

    const out = join(work, 'out-old');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${d.host}/demo/app@${v1.digest}`, `oci:${out}:old`);
    const idx = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(idx.manifests.length, 1);
    assert.equal(idx.manifests[0].digest, v1.digest);
    const manifest = await readFile(join(out, 'blobs/sha256', hexOf(v1.digest)));
    assert.ok(manifest.equals(v1.body), 'manifest bytes as pushed');
    for (const b of v1.blobs) {
      const got = await readFile(join(out, 'blobs/sha256', hexOf(b.digest)));
      assert.ok(got.equals(b.data), `blob ${b.digest} bytes as pushed`);
    }
  });

  test('a Docker schema2 conversion pushes to another tag and copies back out', async () => {
    const digest = await push(v1, 'layout-v1-again', 'demo/app:v2s2', ['--format', 'v2s2']);
    assert.notEqual(digest, v1.digest, 'skopeo converted the manifest');
    const served = await get('/v2/demo/app/manifests/v2s2', { Accept: `${MediaTypes.dockerManifest}, ${MediaTypes.ociManifest}` });
    assert.equal(served.status, 200);
    assert.equal(served.headers['content-type'], MediaTypes.dockerManifest);
    assert.equal(served.headers['docker-content-digest'], digest);
    assert.equal(sha256(served.body), digest, 'the digest is the hash of the bytes served');
    const schema2 = served.json;
    assert.equal(schema2.mediaType, MediaTypes.dockerManifest);
    assert.equal(schema2.layers[0].digest, v1.blobs[1]!.digest, 'the layer bytes were not recompressed');

    const out = join(work, 'out-v2s2');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${d.host}/demo/app:v2s2`, `dir:${out}`);
    assert.ok((await readFile(join(out, 'manifest.json'))).equals(served.body), 'manifest bytes round-trip');
    assert.ok((await readFile(join(out, hexOf(v1.blobs[1]!.digest)))).equals(v1.blobs[1]!.data), 'layer bytes round-trip');
    const configDigest: string = schema2.config.digest;
    assert.equal(sha256(await readFile(join(out, hexOf(configDigest)))), configDigest, 'config blob matches its digest');

    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${d.host}/demo/app@${digest}`);
    assert.ok(raw.equals(served.body));
  });

  test('deleting the old revision by digest removes it while the tag still pulls', async () => {
    await skopeo('delete', '--tls-verify=false', `docker://${d.host}/demo/app@${v1.digest}`);

    assertOciError(await get(`/v2/demo/app/manifests/${v1.digest}`), 404, 'MANIFEST_UNKNOWN', 'by digest');
    assertOciError(await get(`/v2/demo/app/manifests/1/${v1.digest}`), 404, 'MANIFEST_UNKNOWN', 'by tag/digest');
    await assert.rejects(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${d.host}/demo/app@${v1.digest}`));

    const history = await get('/v2/demo/app/_oci/tag-history/1');
    assert.deepEqual(history.json.manifests.map((m: { digest: string }) => m.digest), [v2.digest], 'dropped from the tag history');

    const out = join(work, 'out-after-delete');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${d.host}/demo/app:1`, `oci:${out}:1`);
    const idx = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(idx.manifests[0].digest, v2.digest);
    assert.ok((await readFile(join(out, 'blobs/sha256', hexOf(v2.digest)))).equals(v2.body));
    assert.ok((await readFile(join(out, 'blobs/sha256', hexOf(v2.blobs[1]!.digest)))).equals(v2.blobs[1]!.data));

    const tags = await get('/v2/demo/app/tags/list');
    assert.deepEqual(tags.json, { name: 'demo/app', tags: ['1', 'v2s2'] });
  });
});
