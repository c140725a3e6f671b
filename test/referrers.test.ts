// GET /v2/<name>/referrers/<digest>: artifacts whose subject is a manifest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaTypes } from '../shared/manifest.js';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { artifact, image } from './helpers/images.js';

const d = daemonForFile();
const c = new Client(d);

test('referrers list descriptors with artifactType and annotations; filter by artifactType', async () => {
  const subject = image();
  await c.pushImage('ref/app', subject, 'v1');
  const sig = artifact('application/vnd.example.signature', subject, { 'org.example.by': 'ci' });
  const sbom = artifact('application/vnd.example.sbom', subject);
  const plainImage = image({ subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } });
  for (const m of [sig, sbom, plainImage]) await c.pushImage('ref/app', m);

  const all = await c.req('GET', `/v2/ref/app/referrers/${subject.digest}`);
  assert.equal(all.status, 200);
  assert.equal(all.headers.get('content-type'), MediaTypes.ociIndex);
  assert.equal(all.headers.get('oci-filters-applied'), null);
  assert.equal(all.json.schemaVersion, 2);
  const byDigest = Object.fromEntries(all.json.manifests.map((m: { digest: string }) => [m.digest, m]));
  assert.equal(Object.keys(byDigest).length, 3);
  assert.deepEqual(byDigest[sig.digest], {
    mediaType: MediaTypes.ociManifest,
    digest: sig.digest,
    size: sig.size,
    artifactType: 'application/vnd.example.signature',
    annotations: { 'org.example.by': 'ci' },
  });
  assert.equal(byDigest[plainImage.digest].artifactType, 'application/vnd.oci.image.config.v1+json', 'config type stands in');

  const filtered = await c.req('GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`);
  assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual(filtered.json.manifests.map((m: { digest: string }) => m.digest), [sbom.digest]);
});

test('a deleted referrer leaves the list; an unknown subject has an empty one', async () => {
  const subject = image();
  await c.pushImage('ref/del', subject, 'v1');
  const sig = artifact('application/vnd.example.signature', subject);
  await c.pushImage('ref/del', sig);
  assert.equal((await c.req('DELETE', `/v2/ref/del/manifests/${sig.digest}`)).status, 202);
  const r = await c.req('GET', `/v2/ref/del/referrers/${subject.digest}`);
  assert.deepEqual(r.json.manifests, []);
  const unknown = await c.req('GET', `/v2/ref/nothing/referrers/sha256:${'1'.repeat(64)}`);
  assert.equal(unknown.status, 200);
  assert.deepEqual(unknown.json.manifests, []);
});

test('a bad digest is DIGEST_INVALID', async () => {
  const r = await c.req('GET', '/v2/ref/app/referrers/sha256:xyz');
  assert.equal(r.status, 400);
  assert.equal(r.json.errors[0].code, 'DIGEST_INVALID');
});
