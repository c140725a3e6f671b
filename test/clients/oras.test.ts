// oras against the real daemon: an artifact with a custom artifactType pushed and
// pulled back byte-identical, an SBOM-like artifact attached to an image and found
// with `oras discover` (with and without an artifactType filter), manifests fetched
// by tag and digest, several tags, and the repository's tags.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { image, sha256 } from '../helpers/images.js';
import { ok, tool } from './tools.js';

const oras = tool('oras', 'go install oras.land/oras/cmd/oras@v1.3.6 (.ci/tools.sh does)');

describe('oras', { skip: oras.skip }, () => {
  let d: TestDaemon;
  let work: string;
  const o = (...args: string[]) => ok(oras.path, [...args, '--plain-http'], { cwd: work, env: { HOME: work } });
  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-oras-'));
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('push an artifact with a custom artifactType and two files; pull it back byte-identical', async () => {
    await writeFile(join(work, 'readme.txt'), 'hello from oras\n');
    await writeFile(join(work, 'data.bin'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251)));
    await o('push', `${d.host}/oras/art:v1`, '--artifact-type', 'application/vnd.cairn.test+type', 'readme.txt:text/plain', 'data.bin');
    const manifest = JSON.parse(await o('manifest', 'fetch', `${d.host}/oras/art:v1`));
    assert.equal(manifest.artifactType, 'application/vnd.cairn.test+type');
    assert.deepEqual(manifest.layers.map((l: { annotations: Record<string, string> }) => l.annotations['org.opencontainers.image.title']).sort(), ['data.bin', 'readme.txt']);
    const out = join(work, 'pulled');
    await o('pull', `${d.host}/oras/art:v1`, '-o', out);
    assert.deepEqual(await readFile(join(out, 'readme.txt')), await readFile(join(work, 'readme.txt')));
    assert.deepEqual(await readFile(join(out, 'data.bin')), await readFile(join(work, 'data.bin')));
  });

  test('manifest fetch by tag and by digest gives the same bytes the registry holds', async () => {
    const byTag = await o('manifest', 'fetch', `${d.host}/oras/art:v1`);
    const digest = sha256(byTag);
    const byDigest = await o('manifest', 'fetch', `${d.host}/oras/art@${digest}`);
    assert.equal(byDigest, byTag);
    const served = await new Client(d).req('GET', `/v2/oras/art/manifests/${digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(served.status, 200);
    assert.equal(served.body.toString(), byTag);
  });

  test('attach an SBOM-like artifact to an image; discover finds it through the referrers API, filtered by artifactType', async () => {
    const img = image({ layers: ['oras subject layer'] });
    await new Client(d).pushImage('oras/app', img, 'v1');
    await writeFile(join(work, 'sbom.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }));
    await o('attach', `${d.host}/oras/app:v1`, '--artifact-type', 'application/spdx+json', 'sbom.json:application/spdx+json');
    await writeFile(join(work, 'sig.txt'), 'not really a signature');
    await o('attach', `${d.host}/oras/app:v1`, '--artifact-type', 'application/vnd.cairn.sig', 'sig.txt');

    const all = JSON.parse(await o('discover', `${d.host}/oras/app:v1`, '--format', 'json'));
    assert.deepEqual(all.referrers.map((r: { artifactType: string }) => r.artifactType).sort(), ['application/spdx+json', 'application/vnd.cairn.sig']);
    const sboms = JSON.parse(await o('discover', `${d.host}/oras/app:v1`, '--format', 'json', '--artifact-type', 'application/spdx+json'));
    assert.equal(sboms.referrers.length, 1);
    assert.equal(sboms.referrers[0].artifactType, 'application/spdx+json');
    // The registry's own referrers list agrees (OCI 1.1 API, not the tag fallback).
    const r = await new Client(d).req('GET', `/v2/oras/app/referrers/${img.digest}?artifactType=${encodeURIComponent('application/spdx+json')}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.manifests.map((m: { digest: string }) => m.digest), [sboms.referrers[0].digest]);
    const tags = (await new Client(d).req('GET', '/v2/oras/app/tags/list')).json.tags;
    assert.deepEqual(tags, ['v1'], 'no sha256-… fallback tags: the referrers API was used');
  });

  test('tag several tags at once; repo tags lists them', async () => {
    await o('tag', `${d.host}/oras/art:v1`, 'v2', 'stable', 'latest');
    const listed = (await o('repo', 'tags', `${d.host}/oras/art`)).trim().split('\n');
    assert.deepEqual(listed, ['latest', 'stable', 'v1', 'v2']);
    const current = async (tag: string) => (await new Client(d).req('HEAD', `/v2/oras/art/manifests/${tag}`)).headers.get('docker-content-digest');
    assert.equal(await current('stable'), await current('v1'));
  });
});
