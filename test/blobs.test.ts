// Blobs and uploads: GET/HEAD with Range, DELETE, and every upload workflow.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Paths } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';
import { Client } from './helpers/client.js';
import { daemonForFile, startDaemon } from './helpers/daemon.js';
import { blob } from './helpers/images.js';
import { filesMatching } from './helpers/tree.js';

const d = daemonForFile();
const c = new Client(d);

describe('blob GET/HEAD/DELETE', () => {
  const b = blob('0123456789abcdef');
  before(() => c.pushBlob('blobs/get', b));

  test('GET returns the bytes with digest, length and type', async () => {
    const r = await c.req('GET', `/v2/blobs/get/blobs/${b.digest}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, b.data);
    assert.equal(r.headers.get('docker-content-digest'), b.digest);
    assert.equal(r.headers.get('content-length'), String(b.size));
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  });

  test('HEAD answers the length without a body', async () => {
    const r = await c.req('HEAD', `/v2/blobs/get/blobs/${b.digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(b.size));
    assert.equal(r.headers.get('docker-content-digest'), b.digest);
    assert.equal(r.body.length, 0);
  });

  test('Range serves part of the blob with 206', async () => {
    const cases: [string, string, string][] = [
      ['bytes=2-5', '2345', 'bytes 2-5/16'],
      ['bytes=10-', 'abcdef', 'bytes 10-15/16'],
      ['bytes=-3', 'def', 'bytes 13-15/16'],
      ['bytes=14-99', 'ef', 'bytes 14-15/16'],
    ];
    for (const [range, body, contentRange] of cases) {
      const r = await c.req('GET', `/v2/blobs/get/blobs/${b.digest}`, { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.body.toString(), body, range);
      assert.equal(r.headers.get('content-range'), contentRange, range);
    }
  });

  test('an unsatisfiable Range answers 416 with the size', async () => {
    const r = await c.req('GET', `/v2/blobs/get/blobs/${b.digest}`, { headers: { Range: 'bytes=16-20' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), 'bytes */16');
  });

  test('a blob is served only by repositories it is linked in', async () => {
    const r = await c.req('GET', `/v2/blobs/other/blobs/${b.digest}`);
    assert.equal(r.status, 404);
    assert.equal(r.json.errors[0].code, 'BLOB_UNKNOWN');
  });

  test('DELETE unlinks the blob from the repository', async () => {
    const x = blob('delete me');
    await c.pushBlob('blobs/del', x);
    const del = await c.req('DELETE', `/v2/blobs/del/blobs/${x.digest}`);
    assert.equal(del.status, 202);
    assert.equal((await c.req('HEAD', `/v2/blobs/del/blobs/${x.digest}`)).status, 404);
    const again = await c.req('DELETE', `/v2/blobs/del/blobs/${x.digest}`);
    assert.equal(again.status, 404);
    assert.equal(again.json.errors[0].code, 'BLOB_UNKNOWN');
  });

  test('a blob out of the page cache comes back exact, whole and by range', async () => {
    // Pushed around the page cache, it is read around it; dropped from the cache too, its bytes can only come from the disk.
    const big = blob(randomBytes(24 * (1 << 20) + 4097));
    await c.pushBlob('blobs/cold', big);
    const file = new Paths(d.root).blob(parseDigest(big.digest));
    const dropCache = () => execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
    dropCache();
    const whole = await c.req('GET', `/v2/blobs/cold/blobs/${big.digest}`);
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(big.data), 'the whole blob');
    dropCache();
    const [from, to] = [4097, 20 * (1 << 20) + 3];
    const part = await c.req('GET', `/v2/blobs/cold/blobs/${big.digest}`, { headers: { Range: `bytes=${from}-${to}` } });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(big.data.subarray(from, to + 1)), 'the range');
  });
});

// Blobs over 1 MiB go out through a few reused buffers (daemon/sendfile.ts).
describe('serving a large blob', () => {
  const big = blob(randomBytes(3.5 * 2 ** 20 + 7)); // more chunks than buffers, and a short last one
  const empty = blob('');
  before(async () => {
    await c.pushBlob('blobs/big', big);
    await c.pushBlob('blobs/big', empty);
  });

  test('every byte arrives, whole and in ranges across chunk edges', async () => {
    const whole = await c.req('GET', `/v2/blobs/big/blobs/${big.digest}`);
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(big.data));
    for (const [start, end] of [[2 ** 20 - 3, 2 ** 21 + 2], [0, 2 ** 20 - 1], [3 * 2 ** 20, big.size - 1]]) {
      const r = await c.req('GET', `/v2/blobs/big/blobs/${big.digest}`, { headers: { Range: `bytes=${start}-${end}` } });
      assert.equal(r.status, 206);
      assert.ok(r.body.equals(big.data.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
    const none = await c.req('GET', `/v2/blobs/big/blobs/${empty.digest}`);
    assert.equal(none.status, 200);
    assert.equal(none.body.length, 0);
    assert.equal(none.headers.get('content-length'), '0');
  });

  test('a client that goes away mid-pull leaves no descriptor open', async () => {
    const huge = blob(randomBytes(32 * 2 ** 20)); // more than loopback's socket buffers hold
    await c.pushBlob('blobs/big', huge);
    const blobFds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(d.root, 'blobs'));
        } catch {
          return false; // closed while we looked
        }
      }).length;
    await new Promise<void>((resolve, reject) => {
      const req = httpGet(`${d.url}/v2/blobs/big/blobs/${huge.digest}`, (res) => {
        res.once('data', () => {
          assert.ok([1, 2].includes(blobFds())); // the pull is under way: its descriptor, and the O_DIRECT one when read around the page cache
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    });
    for (let i = 0; i < 100 && blobFds() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(blobFds(), 0);
    const after = await c.req('GET', `/v2/blobs/big/blobs/${big.digest}`); // and the daemon serves on
    assert.ok(after.body.equals(big.data));
  });
});

describe('uploads', () => {
  test('POST ?digest= stores a blob in one request', async () => {
    const b = blob('monolithic');
    const r = await c.req('POST', `/v2/up/mono/blobs/uploads/?digest=${b.digest}`, { body: b.data });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/up/mono/blobs/${b.digest}`);
    assert.equal(r.headers.get('docker-content-digest'), b.digest);
    assert.deepEqual((await c.req('GET', `/v2/up/mono/blobs/${b.digest}`)).body, b.data);
  });

  test('POST, PATCH chunks with Content-Range, GET status, PUT ?digest=', async () => {
    const b = blob('chunk-one|chunk-two|last');
    const start = await c.req('POST', '/v2/up/chunked/blobs/uploads/');
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    const id = start.headers.get('docker-upload-uuid')!;
    assert.match(loc, new RegExp(`^/v2/up/chunked/blobs/uploads/${id}$`));
    assert.equal(start.headers.get('range'), '0-0');

    const p1 = await c.req('PATCH', loc, { body: b.data.subarray(0, 10), headers: { 'Content-Range': '0-9' } });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.get('range'), '0-9');
    const p2 = await c.req('PATCH', loc, { body: b.data.subarray(10, 20), headers: { 'Content-Range': '10-19' } });
    assert.equal(p2.headers.get('range'), '0-19');

    const status = await c.req('GET', loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-19');
    assert.equal(status.headers.get('location'), loc);

    const put = await c.req('PUT', `${loc}?digest=${b.digest}`, { body: b.data.subarray(20), headers: { 'Content-Range': `20-${b.size - 1}` } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `/v2/up/chunked/blobs/${b.digest}`);
    assert.deepEqual((await c.req('GET', `/v2/up/chunked/blobs/${b.digest}`)).body, b.data);
    assert.equal((await c.req('GET', loc)).status, 404, 'a finished upload is gone');
    assert.deepEqual(await filesMatching(d.root, /_uploads/), []);
  });

  test('big PATCHes that start and end mid-block, and a final chunk in the PUT: every byte kept', async () => {
    // Past a chunk's first 512 KiB the sink writes whole blocks O_DIRECT, the edges through the page cache (store/sink.ts).
    const b = blob(randomBytes(4_000_001));
    const start = await c.req('POST', '/v2/up/edges/blobs/uploads/');
    let loc = start.headers.get('location')!;
    let at = 0;
    for (const n of [4097, 2_500_000, 1_048_576]) {
      const p = await c.req('PATCH', loc, { body: b.data.subarray(at, at + n), headers: { 'Content-Range': `${at}-${at + n - 1}` } });
      assert.equal(p.status, 202);
      at += n;
      assert.equal(p.headers.get('range'), `0-${at - 1}`);
      loc = p.headers.get('location')!;
    }
    const put = await c.req('PUT', `${loc}?digest=${b.digest}`, { body: b.data.subarray(at), headers: { 'Content-Range': `${at}-${b.size - 1}` } });
    assert.equal(put.status, 201);
    assert.ok((await c.req('GET', `/v2/up/edges/blobs/${b.digest}`)).body.equals(b.data));
  });

  test('a streamed PATCH without Content-Range, then PUT with no body', async () => {
    const b = blob('streamed in one go');
    const loc = (await c.req('POST', '/v2/up/stream/blobs/uploads/')).headers.get('location')!;
    const p = await c.req('PATCH', loc, { body: b.data });
    assert.equal(p.headers.get('range'), `0-${b.size - 1}`);
    const put = await c.req('PUT', `${loc}?digest=${b.digest}`);
    assert.equal(put.status, 201);
    assert.deepEqual((await c.req('GET', `/v2/up/stream/blobs/${b.digest}`)).body, b.data);
  });

  test('a gap or an overlap answers 416 with the current Range', async () => {
    const loc = (await c.req('POST', '/v2/up/gap/blobs/uploads/')).headers.get('location')!;
    await c.req('PATCH', loc, { body: Buffer.from('12345'), headers: { 'Content-Range': '0-4' } });
    for (const range of ['7-9', '3-5']) {
      const r = await c.req('PATCH', loc, { body: Buffer.from('xyz'), headers: { 'Content-Range': range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get('range'), '0-4', range);
    }
    assert.equal((await c.req('GET', loc)).headers.get('range'), '0-4');
  });

  test('DELETE cancels an upload', async () => {
    const loc = (await c.req('POST', '/v2/up/cancel/blobs/uploads/')).headers.get('location')!;
    assert.equal((await c.req('DELETE', loc)).status, 204);
    const r = await c.req('GET', loc);
    assert.equal(r.status, 404);
    assert.equal(r.json.errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('?mount=&from= links a blob from another repository', async () => {
    const b = blob('mount me');
    await c.pushBlob('up/source', b);
    const r = await c.req('POST', `/v2/up/target/blobs/uploads/?mount=${b.digest}&from=up/source`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/up/target/blobs/${b.digest}`);
    assert.deepEqual((await c.req('GET', `/v2/up/target/blobs/${b.digest}`)).body, b.data);
  });

  test('?mount= alone finds a blob anywhere in the store', async () => {
    const b = blob('auto mount');
    await c.pushBlob('up/somewhere', b);
    const r = await c.req('POST', `/v2/up/auto/blobs/uploads/?mount=${b.digest}`);
    assert.equal(r.status, 201);
    assert.equal((await c.req('HEAD', `/v2/up/auto/blobs/${b.digest}`)).status, 200);
  });

  test('a mount that cannot be served starts a plain upload', async () => {
    const b = blob('nowhere');
    const fromMissing = await c.req('POST', `/v2/up/miss/blobs/uploads/?mount=${b.digest}&from=up/none`);
    assert.equal(fromMissing.status, 202);
    assert.ok(fromMissing.headers.get('docker-upload-uuid'));
    const other = blob('in source only');
    await c.pushBlob('up/src2', other);
    const wrongFrom = await c.req('POST', `/v2/up/miss/blobs/uploads/?mount=${other.digest}&from=up/none`);
    assert.equal(wrongFrom.status, 202, 'from a repository that lacks the blob');
  });

  test('an upload survives a daemon restart and completes', async () => {
    const local = await startDaemon({ keepRoot: true });
    const lc = new Client(local.url);
    const b = blob('first half|second half');
    const loc = (await lc.req('POST', '/v2/up/restart/blobs/uploads/')).headers.get('location')!;
    await lc.req('PATCH', loc, { body: b.data.subarray(0, 11), headers: { 'Content-Range': '0-10' } });
    await local.close();
    const again = await startDaemon({ root: local.root });
    try {
      const rc = new Client(again.url);
      assert.equal((await rc.req('GET', loc)).headers.get('range'), '0-10');
      const put = await rc.req('PUT', `${loc}?digest=${b.digest}`, { body: b.data.subarray(11) });
      assert.equal(put.status, 201);
      assert.deepEqual((await rc.req('GET', `/v2/up/restart/blobs/${b.digest}`)).body, b.data);
    } finally {
      await again.close();
      await rm(local.root, { recursive: true, force: true });
    }
  });
});
