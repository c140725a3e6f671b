// Manifests by reference: every media type, the headers of PUT and GET, subjects,
// multi-tag PUT, and the checks a PUT makes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MediaTypes } from '../shared/manifest.js';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { artifact, blob, built, describe as desc, image, index } from './helpers/images.js';

const d = daemonForFile();
const c = new Client(d);

describe('PUT and GET each media type', () => {
  const kinds = [
    ['OCI image manifest', () => image()],
    ['Docker schema2 manifest', () => image({ mediaType: MediaTypes.dockerManifest })],
    ['OCI artifact', () => artifact('application/vnd.example.sbom')],
  ] as const;
  for (const [what, make] of kinds) {
    test(what, async () => {
      const m = make();
      const put = await c.pushImage('m/kinds', m, 'latest');
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('location'), `/v2/m/kinds/manifests/${m.digest}`);
      assert.equal(put.headers.get('docker-content-digest'), m.digest);
      for (const ref of ['latest', m.digest]) {
        const get = await c.req('GET', `/v2/m/kinds/manifests/${ref}`);
        assert.equal(get.status, 200);
        assert.deepEqual(get.body, m.body, 'the exact bytes pushed');
        assert.equal(get.headers.get('content-type'), m.mediaType);
        assert.equal(get.headers.get('docker-content-digest'), m.digest);
        assert.equal(get.headers.get('etag'), `"${m.digest}"`);
        const head = await c.req('HEAD', `/v2/m/kinds/manifests/${ref}`);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(m.size));
        assert.equal(head.body.length, 0);
      }
    });
  }

  for (const [what, type] of [['OCI index', MediaTypes.ociIndex], ['Docker manifest list', MediaTypes.dockerList]] as const) {
    test(`${what} over pushed children`, async () => {
      const a = image();
      const b = image();
      await c.pushImage('m/index', a);
      await c.pushImage('m/index', b);
      const idx = index([a, b], type);
      const put = await c.putManifest('m/index', 'multi', idx);
      assert.equal(put.status, 201);
      const get = await c.req('GET', '/v2/m/index/manifests/multi');
      assert.deepEqual(get.body, idx.body);
      assert.equal(get.headers.get('content-type'), type);
    });
  }

  test('an OCI manifest without mediaType takes it from Content-Type', async () => {
    const cfg = blob('{}');
    await c.pushBlob('m/bare', cfg);
    const m = built({ schemaVersion: 2, config: desc(cfg, 'application/vnd.oci.image.config.v1+json'), layers: [] }, MediaTypes.ociManifest);
    assert.equal((await c.putManifest('m/bare', 'v1', m)).status, 201);
    assert.equal((await c.req('HEAD', '/v2/m/bare/manifests/v1')).headers.get('content-type'), MediaTypes.ociManifest);
  });

  test('If-None-Match with the ETag answers 304', async () => {
    const m = image();
    await c.pushImage('m/etag', m, 'v1');
    // raw: fetch adds its own cache headers to a conditional request
    const r = await c.raw('GET', '/v2/m/etag/manifests/v1', { 'If-None-Match': `"${m.digest}"` });
    assert.equal(r.status, 304);
  });
});

describe('what a PUT checks and answers', () => {
  test('layers with urls need not be pushed', async () => {
    const foreign = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'f'.repeat(64)}`, size: 10, urls: ['https://example.com/l'] };
    const m = image({ foreignLayers: [foreign] });
    assert.equal((await c.pushImage('m/foreign', m, 'v1')).status, 201);
  });

  test('a config or layer not linked in this repository is MANIFEST_BLOB_UNKNOWN', async () => {
    const m = image();
    for (const b of m.blobs) await c.pushBlob('m/elsewhere', b);
    const r = await c.putManifest('m/strict', 'v1', m);
    assert.equal(r.status, 400);
    assert.equal(r.json.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual([...r.json.errors[0].detail.digests].sort(), m.blobs.map((b) => b.digest).sort());
  });

  test('a manifest with a subject answers OCI-Subject', async () => {
    const subject = image();
    await c.pushImage('m/subject', subject, 'v1');
    const sig = artifact('application/vnd.example.signature', subject);
    const r = await c.pushImage('m/subject', sig);
    assert.equal(r.headers.get('oci-subject'), subject.digest);
  });

  test('a subject need not exist yet', async () => {
    const ghost = image();
    const r = await c.pushImage('m/ghost', artifact('application/vnd.example.sbom', ghost));
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-subject'), ghost.digest);
  });

  test('PUT by digest with ?tag= moves every named tag, one OCI-Tag each', async () => {
    const m = image();
    for (const b of m.blobs) await c.pushBlob('m/multitag', b);
    const r = await c.putManifest('m/multitag', m.digest, m, '?tag=a&tag=b&tag=c');
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-tag'), 'a, b, c');
    for (const tag of ['a', 'b', 'c']) {
      assert.equal((await c.req('HEAD', `/v2/m/multitag/manifests/${tag}`)).headers.get('docker-content-digest'), m.digest);
    }
  });

  test('GET of an unknown tag or digest is MANIFEST_UNKNOWN', async () => {
    for (const ref of ['nope', `sha256:${'0'.repeat(64)}`]) {
      const r = await c.req('GET', `/v2/m/kinds/manifests/${ref}`);
      assert.equal(r.status, 404);
      assert.equal(r.json.errors[0].code, 'MANIFEST_UNKNOWN');
    }
  });
});
