// Bad input (docs/faults.md) gets the right OCI error and changes nothing. Every case
// snapshots the storage tree before and after the request and asserts that it is
// byte-for-byte the same (tmp/ excepted: it is scratch space).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { MediaTypes } from '../shared/manifest.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { blob, built, describe as descriptor, image, index } from './helpers/images.js';
import { assertOciError, rawRequest, type RawReply } from './helpers/raw.js';
import { snapshot } from './helpers/tree.js';

let d: TestDaemon;
let c: Client;

const req = (method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string | number> } = {}) =>
  rawRequest(d.url, method, path, opts);
const put = (name: string, ref: string, m: { body: Buffer | string; mediaType: string }) =>
  req('PUT', `/v2/${name}/manifests/${ref}`, { body: m.body, headers: { 'Content-Type': m.mediaType } });

/** Runs `fn` and asserts the tree is byte-for-byte what it was before. */
async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
  const before = await snapshot(d.root);
  const result = await fn();
  assert.deepEqual(await snapshot(d.root), before, 'the tree is byte-for-byte unchanged');
  return result;
}

/** Starts an upload in `name` and returns its Location path. */
async function startUpload(name: string): Promise<string> {
  const r = await req('POST', `/v2/${name}/blobs/uploads/`);
  assert.equal(r.status, 202);
  return String(r.headers.location);
}

const withQuery = (location: string, query: string) => `${location}${location.includes('?') ? '&' : '?'}${query}`;

/** Waits (bounded) until the daemon's tmp/ folder is empty: no request is mid-write. */
async function tmpDrained(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await readdir(join(d.root, 'tmp'))).length === 0) return;
    await sleep(25);
  }
  assert.fail(`tmp/ still holds ${(await readdir(join(d.root, 'tmp'))).join(', ')}: a failed write left its temp file`);
}

// The base repository holds one image under tag "1"; "other" holds blobs that "base" does not.
const baseImage = image({ layers: ['base layer'] });
const strangerImage = image({ layers: ['only in other'] });

describe('bad input changes nothing', () => {
  before(async () => {
    d = await startDaemon();
    c = new Client(d.url);
    await c.pushImage('base', baseImage, '1');
    for (const b of strangerImage.blobs) await c.pushBlob('other', b);
    await c.pushImage('other', strangerImage, 'x');
  });
  after(async () => {
    await d?.close();
  });

  describe('blob uploads', () => {
    test('monolithic POST whose body does not match ?digest= is DIGEST_INVALID', async () => {
      const claimed = blob('what the client meant to send');
      const sent = blob('what the client actually sent');
      const r = await unchanged(() =>
        req('POST', `/v2/base/blobs/uploads/?digest=${claimed.digest}`, { body: sent.data, headers: { 'Content-Type': 'application/octet-stream' } }),
      );
      assertOciError(r, 400, 'DIGEST_INVALID');
      for (const b of [claimed, sent]) assertOciError(await req('GET', `/v2/base/blobs/${b.digest}`), 404, 'BLOB_UNKNOWN');
      // Into a repository that does not exist yet: no folder appears for it.
      const fresh = await unchanged(() => req('POST', `/v2/fresh/repo/blobs/uploads/?digest=${claimed.digest}`, { body: sent.data }));
      assertOciError(fresh, 400, 'DIGEST_INVALID', 'fresh repository');
    });

    test('monolithic POST with a malformed ?digest= is DIGEST_INVALID', async () => {
      for (const digest of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense']) {
        const r = await unchanged(() => req('POST', `/v2/base/blobs/uploads/?digest=${digest}`, { body: 'data' }));
        assertOciError(r, 400, 'DIGEST_INVALID', digest);
      }
    });

    test('upload PUT with the wrong ?digest= is DIGEST_INVALID, and the upload can still be completed', async () => {
      const b = blob('chunked upload, finished twice');
      const loc = await startUpload('base');
      assert.equal((await req('PATCH', loc, { body: b.data, headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
      const wrong = blob('not these bytes').digest;
      const r = await unchanged(() => req('PUT', withQuery(loc, `digest=${wrong}`)));
      assertOciError(r, 400, 'DIGEST_INVALID');
      assertOciError(await req('GET', `/v2/base/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');

      const status = await req('GET', loc);
      assert.equal(status.status, 204, 'the upload is still in progress');
      assert.equal(status.headers.range, `0-${b.size - 1}`);
      const done = await req('PUT', withQuery(loc, `digest=${b.digest}`));
      assert.equal(done.status, 201, done.body.toString());
      assert.equal(done.headers.location, `/v2/base/blobs/${b.digest}`);
      const got = await req('GET', `/v2/base/blobs/${b.digest}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(b.data));
    });

    test('upload PUT with a final chunk and the wrong ?digest= keeps neither the chunk nor a blob', async () => {
      const first = Buffer.from('first half|');
      const last = Buffer.from('second half');
      const whole = blob(Buffer.concat([first, last]));
      const loc = await startUpload('base');
      assert.equal((await req('PATCH', loc, { body: first })).status, 202);
      const wrong = blob('wrong').digest;
      const r = await unchanged(() =>
        req('PUT', withQuery(loc, `digest=${wrong}`), { body: last, headers: { 'Content-Type': 'application/octet-stream' } }),
      );
      assertOciError(r, 400, 'DIGEST_INVALID');
      assert.equal((await req('GET', loc)).headers.range, `0-${first.length - 1}`, 'the final chunk was not kept');

      const done = await req('PUT', withQuery(loc, `digest=${whole.digest}`), { body: last, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(done.status, 201, done.body.toString());
      assert.ok((await req('GET', `/v2/base/blobs/${whole.digest}`)).body.equals(whole.data));
    });

    test('upload PUT without ?digest= is refused and the upload stays usable', async () => {
      const b = blob('upload finished without a digest');
      const loc = await startUpload('base');
      assert.equal((await req('PATCH', loc, { body: b.data })).status, 202);
      const r = await unchanged(() => req('PUT', loc));
      assertOciError(r, 400, ['DIGEST_INVALID', 'BLOB_UPLOAD_INVALID']);
      const done = await req('PUT', withQuery(loc, `digest=${b.digest}`));
      assert.equal(done.status, 201);
    });

    test('a Content-Range gap on PATCH is 416 and leaves the upload as it was', async () => {
      const data = Buffer.from('0123456789abcdefghij');
      const b = blob(data);
      const loc = await startUpload('base');
      const first = await req('PATCH', loc, { body: data.subarray(0, 10), headers: { 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' } });
      assert.equal(first.status, 202);
      assert.equal(first.headers.range, '0-9');

      const gap = await unchanged(() =>
        req('PATCH', loc, { body: data.subarray(15, 20), headers: { 'Content-Range': '15-19', 'Content-Type': 'application/octet-stream' } }),
      );
      assertOciError(gap, 416, ['RANGE_INVALID', 'BLOB_UPLOAD_INVALID'], 'gap');
      assert.equal((await req('GET', loc)).headers.range, '0-9', 'upload unchanged after the gap');

      const overlap = await unchanged(() =>
        req('PATCH', loc, { body: data.subarray(5, 15), headers: { 'Content-Range': '5-14', 'Content-Type': 'application/octet-stream' } }),
      );
      assertOciError(overlap, 416, ['RANGE_INVALID', 'BLOB_UPLOAD_INVALID'], 'overlap');
      assert.equal((await req('GET', loc)).headers.range, '0-9', 'upload unchanged after the overlap');

      const next = await req('PATCH', loc, { body: data.subarray(10, 20), headers: { 'Content-Range': '10-19', 'Content-Type': 'application/octet-stream' } });
      assert.equal(next.status, 202, 'the right next chunk is still accepted');
      const done = await req('PUT', withQuery(loc, `digest=${b.digest}`));
      assert.equal(done.status, 201);
      assert.ok((await req('GET', `/v2/base/blobs/${b.digest}`)).body.equals(data));
    });

    test('a final PUT chunk whose Content-Range leaves a gap is 416 and the upload stays usable', async () => {
      const data = Buffer.from('abcdefghij');
      const b = blob(data);
      const loc = await startUpload('base');
      assert.equal((await req('PATCH', loc, { body: data.subarray(0, 5), headers: { 'Content-Range': '0-4' } })).status, 202);
      const gap = await unchanged(() =>
        req('PUT', withQuery(loc, `digest=${b.digest}`), { body: data.subarray(6), headers: { 'Content-Range': '6-9', 'Content-Type': 'application/octet-stream' } }),
      );
      assertOciError(gap, 416, ['RANGE_INVALID', 'BLOB_UPLOAD_INVALID']);
      assertOciError(await req('GET', `/v2/base/blobs/${b.digest}`), 404, 'BLOB_UNKNOWN');
      const done = await req('PUT', withQuery(loc, `digest=${b.digest}`), { body: data.subarray(5), headers: { 'Content-Range': '5-9' } });
      assert.equal(done.status, 201, done.body.toString());
    });

    test('an upload that was cancelled or completed is BLOB_UPLOAD_UNKNOWN', async () => {
      const b = blob('cancel me');
      const cancelled = await startUpload('base');
      assert.equal((await req('DELETE', cancelled)).status, 204);
      const done = await startUpload('base');
      assert.equal((await req('PUT', withQuery(done, `digest=${b.digest}`), { body: b.data })).status, 201);
      for (const loc of [cancelled, done]) {
        const r = await unchanged(() => req('PATCH', loc, { body: 'more' }));
        assertOciError(r, 404, 'BLOB_UPLOAD_UNKNOWN', loc);
        assertOciError(await req('GET', loc), 404, 'BLOB_UPLOAD_UNKNOWN', loc);
      }
    });

    test('an upload id that does not exist is BLOB_UPLOAD_UNKNOWN on every upload method', async () => {
      const missing = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b';
      const b = blob('x');
      for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['PUT', `?digest=${b.digest}`], ['DELETE', '']] as const) {
        const r = await unchanged(() => req(method, `/v2/base/blobs/uploads/${missing}${suffix}`, method === 'PATCH' || method === 'PUT' ? { body: b.data } : {}));
        assertOciError(r, 404, 'BLOB_UPLOAD_UNKNOWN', method);
      }
    });

    test('an upload id that is not a UUID is BLOB_UPLOAD_UNKNOWN, never a path', async () => {
      const b = blob('y');
      for (const id of ['not-a-uuid', '..', '%2e%2e', '3F1E2D4C-5B6A-4798-8A9B-0C1D2E3F4A5B', '_uploads', '..%2F..%2Fblobs']) {
        for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['PUT', `?digest=${b.digest}`], ['DELETE', '']] as const) {
          const r = await unchanged(() => req(method, `/v2/base/blobs/uploads/${id}${suffix}`, method === 'PATCH' || method === 'PUT' ? { body: b.data } : {}));
          assertOciError(r, 404, 'BLOB_UPLOAD_UNKNOWN', `${method} ${id}`);
        }
      }
    });

    test("another repository's upload id is BLOB_UPLOAD_UNKNOWN", async () => {
      const loc = await startUpload('other');
      const id = loc.split('/').at(-1)!;
      const r = await unchanged(() => req('PATCH', `/v2/base/blobs/uploads/${id}`, { body: 'stolen' }));
      assertOciError(r, 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal((await req('GET', loc)).status, 204, 'the upload in "other" is untouched');
    });

    test('a client that disconnects in the middle of a monolithic upload leaves no blob', async () => {
      const data = Buffer.alloc(4 * 1024 * 1024, 0x5a);
      const b = blob(data);
      const { hostname, port } = new URL(d.url);
      const before = await snapshot(d.root);

      const r = httpRequest({
        host: hostname, port, method: 'POST', path: `/v2/base/blobs/uploads/?digest=${b.digest}`, agent: false,
        headers: { 'Content-Length': data.length, 'Content-Type': 'application/octet-stream' },
      });
      const outcome = new Promise<string>((ok) => {
        r.on('error', (e) => ok(`error ${e.message}`));
        r.on('response', (res) => ok(`response ${res.statusCode}`));
        r.on('close', () => ok('closed'));
      });
      r.write(data.subarray(0, data.length / 2));
      // Wait (bounded) until the daemon is writing the temp file, so the cut lands mid-upload.
      for (let i = 0; i < 200 && (await readdir(join(d.root, 'tmp'))).length === 0; i++) await sleep(10);
      r.destroy();
      assert.doesNotMatch(await outcome, /response 201/, 'half a body is never acknowledged');

      await tmpDrained();
      assert.deepEqual(await snapshot(d.root), before, 'the tree is byte-for-byte unchanged');
      assertOciError(await req('GET', `/v2/base/blobs/${b.digest}`), 404, 'BLOB_UNKNOWN');
      // The daemon is still healthy: the same blob goes up whole.
      assert.equal((await c.pushBlob('base', b)).status, 201);
      assert.equal((await req('HEAD', `/v2/base/blobs/${b.digest}`)).status, 200);
    });
  });

  describe('blob reads and deletes', () => {
    const served = blob('0123456789');
    before(async () => {
      await c.pushBlob('base', served);
    });

    test('a Range outside the blob is 416 with Content-Range: bytes */size', async () => {
      for (const range of ['bytes=10-20', 'bytes=100-', 'bytes=10-']) {
        const r = await unchanged(() => req('GET', `/v2/base/blobs/${served.digest}`, { headers: { Range: range } }));
        assert.equal(r.status, 416, range);
        assert.equal(r.headers['content-range'], 'bytes */10', range);
        assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
      }
      const ok = await req('GET', `/v2/base/blobs/${served.digest}`, { headers: { Range: 'bytes=2-4' } });
      assert.equal(ok.status, 206, 'a satisfiable range still works');
      assert.equal(ok.body.toString(), '234');
      assert.equal(ok.headers['content-range'], 'bytes 2-4/10');
    });

    test('DELETE of a blob the repository does not hold is BLOB_UNKNOWN', async () => {
      const nowhere = blob('never uploaded').digest;
      const elsewhere = strangerImage.blobs[1]!.digest; // stored, but linked only in "other"
      for (const digest of [nowhere, elsewhere]) {
        const r = await unchanged(() => req('DELETE', `/v2/base/blobs/${digest}`));
        assertOciError(r, 404, 'BLOB_UNKNOWN', digest);
      }
      assert.equal((await req('HEAD', `/v2/other/blobs/${elsewhere}`)).status, 200, '"other" still serves its blob');
    });
  });

  describe('manifests', () => {
    const unknownDigest = blob('no manifest has these bytes').digest;

    test('malformed JSON is MANIFEST_INVALID, by tag and by digest', async () => {
      const body = Buffer.from('{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", ');
      for (const ref of ['broken', blob(body).digest]) {
        const r = await unchanged(() => put('base', ref, { body, mediaType: MediaTypes.ociManifest }));
        assertOciError(r, 400, 'MANIFEST_INVALID', ref);
      }
      for (const body of ['[]', '"a string"', '', 'null']) {
        const r = await unchanged(() => put('base', 'broken', { body, mediaType: MediaTypes.ociManifest }));
        assertOciError(r, 400, 'MANIFEST_INVALID', JSON.stringify(body));
      }
    });

    test('a manifest with missing or wrong fields is MANIFEST_INVALID', async () => {
      const good = JSON.parse(baseImage.body.toString());
      const cases: Record<string, unknown> = {
        'no config': { ...good, config: undefined },
        'no layers': { ...good, layers: undefined },
        'schemaVersion 1 with an OCI media type': { ...good, schemaVersion: 1 },
        'a layer digest that is no digest': { ...good, layers: [{ ...good.layers[0], digest: 'sha256:nothex' }] },
        'a negative size': { ...good, config: { ...good.config, size: -1 } },
      };
      for (const [what, json] of Object.entries(cases)) {
        const r = await unchanged(() => put('base', 'broken', built(json, MediaTypes.ociManifest)));
        assertOciError(r, 400, 'MANIFEST_INVALID', what);
      }
    });

    test('an unknown manifest media type is MANIFEST_INVALID', async () => {
      const noType = JSON.parse(baseImage.body.toString());
      delete noType.mediaType;
      const r1 = await unchanged(() => put('base', 'odd', { body: JSON.stringify(noType), mediaType: 'application/vnd.example.thing.v1+json' }));
      assertOciError(r1, 400, 'MANIFEST_INVALID', 'unknown Content-Type');
      const odd = { ...JSON.parse(baseImage.body.toString()), mediaType: 'application/vnd.example.thing.v1+json' };
      const r2 = await unchanged(() => put('base', 'odd', { body: JSON.stringify(odd), mediaType: 'application/json' }));
      assertOciError(r2, 400, 'MANIFEST_INVALID', 'unknown body mediaType');
    });

    test("a Content-Type that disagrees with the body's mediaType is MANIFEST_INVALID", async () => {
      const r1 = await unchanged(() => put('base', 'mixed', { body: baseImage.body, mediaType: MediaTypes.dockerManifest }));
      assertOciError(r1, 400, 'MANIFEST_INVALID', 'OCI body, Docker Content-Type');
      const r2 = await unchanged(() => put('base', 'mixed', { body: baseImage.body, mediaType: MediaTypes.ociIndex }));
      assertOciError(r2, 400, 'MANIFEST_INVALID', 'image body, index Content-Type');
      assertOciError(await req('GET', '/v2/base/manifests/mixed'), 404, 'MANIFEST_UNKNOWN');
    });

    test('a manifest whose blobs are not in the repository is MANIFEST_BLOB_UNKNOWN', async () => {
      // strangerImage's blobs are stored, but linked in "other" only.
      const r1 = await unchanged(() => put('base', 'stolen', strangerImage));
      assertOciError(r1, 400, 'MANIFEST_BLOB_UNKNOWN', 'blobs of another repository');
      const ghost = image({ layers: ['never pushed anywhere'] });
      const r2 = await unchanged(() => put('base', 'ghost', ghost));
      assertOciError(r2, 400, 'MANIFEST_BLOB_UNKNOWN', 'blobs stored nowhere');
      const r3 = await unchanged(() => put('base', ghost.digest, ghost));
      assertOciError(r3, 400, 'MANIFEST_BLOB_UNKNOWN', 'by digest');
      // Only the config is missing: one absent blob is enough.
      const halfLayer = blob('half: layer present');
      await c.pushBlob('base', halfLayer);
      const half = built(
        {
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: descriptor(blob('{"config":"absent"}'), 'application/vnd.oci.image.config.v1+json'),
          layers: [descriptor(halfLayer, 'application/vnd.oci.image.layer.v1.tar+gzip')],
        },
        MediaTypes.ociManifest,
      );
      const r4 = await unchanged(() => put('base', 'half', half));
      assertOciError(r4, 400, 'MANIFEST_BLOB_UNKNOWN', 'config missing');
    });

    test('an index with a child the repository does not hold is MANIFEST_BLOB_UNKNOWN', async () => {
      const unknownChild = image({ layers: ['child never pushed'] });
      const r1 = await unchanged(() => put('base', 'multi', index([baseImage, unknownChild])));
      assertOciError(r1, 400, 'MANIFEST_BLOB_UNKNOWN', 'unknown child');
      const r2 = await unchanged(() => put('base', 'multi', index([strangerImage])));
      assertOciError(r2, 400, 'MANIFEST_BLOB_UNKNOWN', "a child of another repository");
      const r3 = await unchanged(() => put('base', 'multi', index([unknownChild], MediaTypes.dockerList)));
      assertOciError(r3, 400, 'MANIFEST_BLOB_UNKNOWN', 'Docker manifest list');
    });

    test('PUT by a digest the body does not hash to is DIGEST_INVALID', async () => {
      // strangerImage's digest names other bytes than baseImage's.
      const r1 = await unchanged(() => put('base', strangerImage.digest, baseImage));
      assertOciError(r1, 400, 'DIGEST_INVALID');
      const r2 = await unchanged(() =>
        req('PUT', `/v2/base/manifests/${unknownDigest}?tag=moved`, { body: baseImage.body, headers: { 'Content-Type': baseImage.mediaType } }),
      );
      assertOciError(r2, 400, 'DIGEST_INVALID', 'with ?tag=');
      assertOciError(await req('GET', '/v2/base/manifests/moved'), 404, 'MANIFEST_UNKNOWN');
    });

    test('a manifest over 4 MiB is 413 and stored nowhere; exactly 4 MiB is accepted', async () => {
      const LIMIT = 4 * 1024 * 1024;
      const sized = (size: number): Buffer => {
        const json = JSON.parse(baseImage.body.toString());
        json.annotations = { pad: '' };
        const bare = Buffer.from(JSON.stringify(json)).length;
        json.annotations.pad = 'p'.repeat(size - bare);
        const body = Buffer.from(JSON.stringify(json));
        assert.equal(body.length, size);
        return body;
      };
      const big = sized(LIMIT + 1);
      const r1 = await unchanged(() => req('PUT', '/v2/base/manifests/big', { body: big, headers: { 'Content-Type': MediaTypes.ociManifest } }));
      assertOciError(r1, 413, ['SIZE_INVALID', 'MANIFEST_INVALID'], 'with Content-Length');
      const r2 = await unchanged(() =>
        req('PUT', `/v2/base/manifests/${blob(big).digest}`, {
          body: big,
          headers: { 'Content-Type': MediaTypes.ociManifest, 'Transfer-Encoding': 'chunked' },
        }),
      );
      assertOciError(r2, 413, ['SIZE_INVALID', 'MANIFEST_INVALID'], 'chunked, no Content-Length');
      assertOciError(await req('GET', `/v2/base/manifests/${blob(big).digest}`), 404, 'MANIFEST_UNKNOWN');

      const edge = sized(LIMIT);
      const ok = await req('PUT', '/v2/base/manifests/edge', { body: edge, headers: { 'Content-Type': MediaTypes.ociManifest } });
      assert.equal(ok.status, 201, `a manifest of exactly 4 MiB is accepted: ${ok.body.toString().slice(0, 200)}`);
      assert.equal(ok.headers['docker-content-digest'], blob(edge).digest);
    });

    test('an invalid tag, in ?tag= or in the path, is refused and moves no tag', async () => {
      const badTags = ['-dash', '.dot', 'a'.repeat(129), 'sp%20ace', 'semi;colon'];
      for (const bad of badTags) {
        const r = await unchanged(() =>
          req('PUT', `/v2/base/manifests/${baseImage.digest}?tag=fine&tag=${bad}`, { body: baseImage.body, headers: { 'Content-Type': baseImage.mediaType } }),
        );
        assertOciError(r, 400, ['TAG_INVALID', 'MANIFEST_INVALID'], `?tag=${bad}`);
      }
      assertOciError(await req('GET', '/v2/base/manifests/fine'), 404, 'MANIFEST_UNKNOWN', 'the valid tag beside a bad one did not move');
      for (const bad of badTags) {
        const r = await unchanged(() => put('base', bad, baseImage));
        assertOciError(r, 400, ['TAG_INVALID', 'MANIFEST_INVALID'], `path tag ${bad}`);
      }
    });

    test('a name outside the grammar is NAME_INVALID on push', async () => {
      for (const name of ['Base', 'base/', 'base//x', '-base', 'base___x', 'base..x', '_base']) {
        const r1 = await unchanged(() => put(name, '1', baseImage));
        assertOciError(r1, 400, 'NAME_INVALID', `PUT ${name}`);
        const r2 = await unchanged(() => req('POST', `/v2/${name}/blobs/uploads/`));
        assertOciError(r2, 400, 'NAME_INVALID', `POST ${name}`);
      }
    });

    test('DELETE of an unknown manifest, tag or tag/digest is MANIFEST_UNKNOWN', async () => {
      const cases: [string, string | string[]][] = [
        [`/v2/base/manifests/${unknownDigest}`, 'MANIFEST_UNKNOWN'],
        ['/v2/base/manifests/nosuchtag', 'MANIFEST_UNKNOWN'],
        [`/v2/base/manifests/1/${unknownDigest}`, 'MANIFEST_UNKNOWN'],
        [`/v2/base/manifests/nosuchtag/${baseImage.digest}`, 'MANIFEST_UNKNOWN'],
        [`/v2/base/manifests/${strangerImage.digest}`, 'MANIFEST_UNKNOWN'], // a revision of "other", not of "base"
        ['/v2/nosuchrepo/manifests/1', ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']],
        [`/v2/nosuchrepo/blobs/${baseImage.blobs[0]!.digest}`, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']],
      ];
      for (const [path, code] of cases) {
        const r = await unchanged(() => req('DELETE', path));
        assertOciError(r, 404, code, path);
      }
      const still = await req('GET', '/v2/base/manifests/1');
      assert.equal(still.status, 200);
      assert.ok(still.body.equals(baseImage.body));
      assert.equal((await req('GET', `/v2/other/manifests/${strangerImage.digest}`)).status, 200);
    });
  });

  test('every error above carried the API version header (spot check on a fresh error)', async () => {
    const r: RawReply = await req('DELETE', `/v2/base/manifests/nosuchtag`);
    assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.match(String(r.headers['content-type']), /application\/json/);
  });
});
