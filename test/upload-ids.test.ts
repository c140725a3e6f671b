// Uploads that start without a file: the id proves itself (store/uploadids.ts). Each
// invariant of the contract (docs/storage.md, "Uploads") has a test here: POST writes
// nothing, any daemon on the root accepts an id another issued, a made-up or
// borrowed id is refused, an ended id stays refused everywhere and after a
// restart, a crash loses nothing acknowledged, and the GC removes what a cancel left.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { daemonPairForFile, fsckJson } from './helpers/cli.js';
import type { Client } from './helpers/client.js';
import { cairnGc } from './helpers/gc.js';
import { blob } from './helpers/images.js';

const two = daemonPairForFile('cairn-upload-ids-');

const start = async (c: Client, name: string) => {
  const r = await c.req('POST', `/v2/${name}/blobs/uploads/`);
  assert.equal(r.status, 202);
  return r.headers.get('location')!;
};
const uploads = (name: string) => join(two.root, 'repositories', name, '_uploads');
const refused = async (c: Client, method: string, loc: string, body?: Buffer) => {
  const r = await c.req(method, loc, body && { body });
  assert.equal(r.status, 404, `${method} ${loc}`);
  assert.equal(r.json.errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
};

describe('an upload with no bytes yet has no folder', () => {
  test('POST writes nothing under the repository; POST then one PUT leaves no upload folder', async () => {
    const loc = await start(two.ca, 'ids/mono');
    assert.equal(existsSync(join(two.root, 'repositories', 'ids', 'mono')), false, 'no repository folder after POST');
    const status = await two.ca.req('GET', loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0');
    const x = blob('one PUT with the body');
    assert.equal((await two.ca.req('PUT', `${loc}?digest=${x.digest}`, { body: x.data })).status, 201);
    assert.deepEqual((await two.cb.req('GET', `/v2/ids/mono/blobs/${x.digest}`)).body, x.data);
    assert.equal(existsSync(uploads('ids/mono')), false, 'no _uploads folder at all');
    await refused(two.ca, 'GET', loc); // the daemon that completed it remembers
  });

  test('the id key is made once, mode 0600, and shared: an id from one daemon works on the other', async () => {
    const loc = await start(two.ca, 'ids/shared');
    assert.equal(statSync(join(two.root, 'upload-key')).mode & 0o777, 0o600);
    const x = blob('0123456789abcdefghij');
    const p = await two.cb.req('PATCH', loc, { body: x.data.subarray(0, 10), headers: { 'Content-Range': '0-9' } });
    assert.equal(p.status, 202);
    assert.equal(readdirSync(uploads('ids/shared')).length, 1, 'the first bytes made its folder');
    assert.equal((await two.ca.req('GET', loc)).headers.get('range'), '0-9');
    const put = await two.ca.req('PUT', `${loc}?digest=${x.digest}`, { body: x.data.subarray(10), headers: { 'Content-Range': '10-19' } });
    assert.equal(put.status, 201);
    assert.deepEqual((await two.cb.req('GET', `/v2/ids/shared/blobs/${x.digest}`)).body, x.data);
    const [id] = readdirSync(uploads('ids/shared'));
    assert.deepEqual(readdirSync(join(uploads('ids/shared'), id!)), [], 'completed: its folder is left empty');
    await refused(two.cb, 'GET', loc); // not the daemon that completed it: the folder says it is over, not "0 bytes"
  });

  test('a made-up id, a forged one and one issued for another repository are refused, and change nothing', async () => {
    const loc = await start(two.ca, 'ids/mine');
    const id = loc.split('/').at(-1)!;
    const flipped = `${id.slice(0, -1)}${id.at(-1) === '0' ? '1' : '0'}`;
    const x = blob('not yours');
    for (const bad of ['/v2/ids/mine/blobs/uploads/3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b', `/v2/ids/mine/blobs/uploads/${flipped}`, `/v2/ids/other/blobs/uploads/${id}`]) {
      await refused(two.cb, 'GET', bad);
      await refused(two.cb, 'PATCH', bad, x.data);
      await refused(two.cb, 'PUT', `${bad}?digest=${x.digest}`, x.data);
      await refused(two.cb, 'DELETE', bad);
    }
    assert.equal(existsSync(join(two.root, 'repositories', 'ids', 'other')), false);
    assert.equal(existsSync(uploads('ids/mine')), false);
    assert.equal((await two.ca.req('HEAD', `/v2/ids/mine/blobs/${x.digest}`)).status, 404);
  });

  test('a wrong digest on the PUT stores nothing and leaves the session open', async () => {
    const loc = await start(two.ca, 'ids/wrong');
    const x = blob('the body');
    const r = await two.ca.req('PUT', `${loc}?digest=${blob('another body').digest}`, { body: x.data });
    assert.equal(r.status, 400);
    assert.equal(r.json.errors[0].code, 'DIGEST_INVALID');
    assert.equal((await two.ca.req('HEAD', `/v2/ids/wrong/blobs/${x.digest}`)).status, 404);
    assert.equal((await two.ca.req('PUT', `${loc}?digest=${x.digest}`, { body: x.data })).status, 201);
  });

  test('DELETE leaves an empty folder that every daemon, and a restarted one, refuses', async () => {
    const fresh = await start(two.ca, 'ids/cancel');
    const begun = await start(two.ca, 'ids/cancel');
    assert.equal((await two.ca.req('PATCH', begun, { body: Buffer.from('some bytes') })).status, 202);
    for (const loc of [fresh, begun]) {
      assert.equal((await two.cb.req('DELETE', loc)).status, 204);
      await refused(two.ca, 'GET', loc);
      await refused(two.ca, 'PATCH', loc, Buffer.from('more'));
    }
    for (const id of readdirSync(uploads('ids/cancel'))) assert.deepEqual(readdirSync(join(uploads('ids/cancel'), id)), [], 'emptied');
    await two.restartB();
    for (const loc of [fresh, begun]) await refused(two.cb, 'GET', loc);
  });

  test('a daemon killed after POST: the id works on the next one, and nothing was left to clean', async () => {
    const loc = await start(two.cb, 'ids/crash');
    await two.restartB('kill9');
    const x = blob('after the crash');
    assert.equal((await two.cb.req('PUT', `${loc}?digest=${x.digest}`, { body: x.data })).status, 201);
    assert.deepEqual((await two.ca.req('GET', `/v2/ids/crash/blobs/${x.digest}`)).body, x.data);
  });

  test('gc removes cancelled uploads past --upload-ttl, and fsck finds the tree clean', async () => {
    const loc = await start(two.ca, 'ids/gc');
    assert.equal((await two.ca.req('DELETE', loc)).status, 204);
    assert.equal(readdirSync(uploads('ids/gc')).length, 1);
    const run = await cairnGc(two.root, ['--upload-ttl', '0s', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.report.uploadsRemoved >= 1);
    assert.deepEqual(readdirSync(uploads('ids/gc')), []);
    await refused(two.ca, 'GET', loc); // without its folder the id is refused only where it ended: the daemon that ended it
    const fsck = await fsckJson(two.root);
    assert.equal(fsck.code, 0, JSON.stringify(fsck.report?.problems));
  });
});
