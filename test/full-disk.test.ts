// Faults of the disk itself, on real small filesystems: a loop-mounted ext4 filled to
// its last byte, and a tmpfs remounted read-only. A full disk refuses writes with
// 507 and changes nothing; `cairn gc` still frees space there; pulls keep working on
// a read-only store; and a gc interrupted while a tag's history entry was aside
// never brings back a tag deleted since.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { capturedLogger } from './helpers/auth.js';
import { fsckJson } from './helpers/cli.js';
import { Client } from './helpers/client.js';
import { startDaemon } from './helpers/daemon.js';
import { cairnGc } from './helpers/gc.js';
import { blob, image } from './helpers/images.js';
import { cannotMount, ext4, fill, freeBytes, tmpfs } from './helpers/mounts.js';
import { assertOciError, rawRequest } from './helpers/raw.js';
import { snapshot } from './helpers/tree.js';

const skip = cannotMount();

describe('a disk filled to the last byte (96 MiB ext4)', { skip }, () => {
  test('writes answer 507 and change nothing; pulls work; cairn gc frees the space; then pushes work again', { timeout: 120_000 }, async () => {
    const disk = await ext4(96);
    const root = join(disk.dir, 'root');
    const log = capturedLogger();
    const d = await startDaemon({ root, logger: log.logger });
    try {
      const c = new Client(d);
      const kept = image({ layers: [randomBytes(1 << 20)] });
      await c.pushImage('full/app', kept, 'v1');
      // 60 MiB that nothing references: uploaded, never put in a manifest, and an image whose tag is gone.
      for (let i = 0; i < 4; i++) await c.pushBlob('full/app', blob(randomBytes(10 << 20)));
      const dropped = image({ layers: [randomBytes(20 << 20)] });
      await c.pushImage('full/app', dropped, 'old');
      assert.equal((await c.req('DELETE', '/v2/full/app/manifests/old')).status, 202);

      await fill(disk.dir);
      assert.equal(await freeBytes(disk.dir), 0, 'not one byte free');
      const before = await snapshot(join(root, 'repositories'));

      const big = blob(randomBytes(64 << 10));
      const post = await rawRequest(d.url, 'POST', `/v2/full/app/blobs/uploads/?digest=${big.digest}`, { body: big.data, headers: { 'Content-Type': 'application/octet-stream' } });
      assertOciError(post, 507, 'UNKNOWN', 'a blob on a full disk');
      assert.match(post.json.errors[0].message, /out of space/);
      const manifest = await rawRequest(d.url, 'PUT', `/v2/full/app/manifests/${kept.digest}?tag=v2`, { body: kept.body, headers: { 'Content-Type': kept.mediaType } });
      assert.ok([201, 507].includes(manifest.status), `re-PUT of a stored manifest under a new tag: ${manifest.status}`);
      if (manifest.status === 507) assert.match(manifest.json.errors[0].message, /out of space/);
      const upload = await rawRequest(d.url, 'POST', '/v2/full/new/blobs/uploads/');
      assert.ok([202, 507].includes(upload.status), `starting an upload: ${upload.status}`);
      assert.match(log.text(), /ENOSPC/, 'the log names the real cause');
      if (manifest.status === 507 && upload.status === 507) assert.deepEqual(await snapshot(join(root, 'repositories')), before, 'nothing refused left a trace');

      // Pulls: manifest and blob, by tag and digest.
      assert.equal((await c.req('GET', '/v2/full/app/manifests/v1', { headers: { Accept: kept.mediaType } })).status, 200);
      for (const b of kept.blobs) assert.equal((await c.req('GET', `/v2/full/app/blobs/${b.digest}`)).status, 200);

      const gc = await cairnGc(root, ['--grace', '0s', '--json']);
      assert.equal(gc.code, 0, `gc on a full disk: ${gc.stderr}`);
      assert.ok(gc.report.bytesFreed >= 60 << 20, `freed ${gc.report.bytesFreed}`);
      assert.ok((await freeBytes(disk.dir)) >= 50 << 20, `the space is free: ${await freeBytes(disk.dir)} bytes`);
      assert.match(gc.report.warnings.join('\n'), /deleted in place/);
      assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp file left behind');
      assert.ok(!existsSync(join(root, 'gc.lock')), 'the lock is released');
      const fsck = await fsckJson(root);
      assert.equal(fsck.code, 0, JSON.stringify(fsck.report?.findings));

      assert.equal((await c.req('GET', '/v2/full/app/manifests/v1', { headers: { Accept: kept.mediaType } })).status, 200);
      const again = await rawRequest(d.url, 'POST', `/v2/full/app/blobs/uploads/?digest=${big.digest}`, { body: big.data, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(again.status, 201, 'pushes work once there is space');
    } finally {
      await d.close();
      await disk.close();
    }
  });
});

describe('a store on a filesystem mounted read-only', { skip }, () => {
  test('pulls, HEADs and lists work, a daemon starts on it, and writes say the store is read-only', { timeout: 60_000 }, async () => {
    const disk = await tmpfs(32);
    const root = join(disk.dir, 'root');
    const m = image({ layers: ['ro layer'] });
    let d = await startDaemon({ root });
    try {
      await new Client(d).pushImage('ro/app', m, 'v1');
      await d.close();
      disk.remount(true);
      d = await startDaemon({ root }); // a daemon starts on a read-only root
      const c = new Client(d);
      for (const method of ['GET', 'HEAD']) {
        assert.equal((await c.req(method, '/v2/ro/app/manifests/v1', { headers: { Accept: m.mediaType } })).status, 200, `${method} manifest`);
        assert.equal((await c.req(method, `/v2/ro/app/manifests/${m.digest}`, { headers: { Accept: m.mediaType } })).status, 200, `${method} by digest`);
        for (const b of m.blobs) assert.equal((await c.req(method, `/v2/ro/app/blobs/${b.digest}`)).status, 200, `${method} blob`);
      }
      assert.deepEqual((await c.req('GET', '/v2/ro/app/tags/list')).json.tags, ['v1']);
      assert.deepEqual((await c.req('GET', '/v2/_catalog')).json.repositories, ['ro/app']);
      assert.equal((await c.req('GET', '/v2/ro/app/_oci/tag-history/v1')).status, 200);
      const b = blob('a write');
      const put = await rawRequest(d.url, 'POST', `/v2/ro/app/blobs/uploads/?digest=${b.digest}`, { body: b.data, headers: { 'Content-Type': 'application/octet-stream' } });
      assertOciError(put, 405, 'UNSUPPORTED', 'a write');
      assert.match(put.json.errors[0].message, /read-only/);
    } finally {
      await d.close();
      disk.remount(false);
      await disk.close();
    }
  });
});

describe('a gc interrupted with a history entry moved aside', () => {
  test('the next gc puts it back while its tag exists, and drops it when the tag was deleted since', async () => {
    const d = await startDaemon();
    try {
      const c = new Client(d);
      const [a, b, x, y] = [image(), image(), image(), image()];
      await c.pushImage('trash/app', a, 't10');
      await c.pushImage('trash/app', b, 't10');
      await c.pushImage('trash/app', x, 'kept');
      await c.pushImage('trash/app', y, 'kept');
      // What a gc killed (or stopped by ENOSPC) between a move and its decision leaves:
      // the older entry of each tag under its run's trash folder.
      const run = join(d.root, 'gc-trash', `${2 ** 22 + 7}-${randomUUID()}`);
      for (const [tag, m] of [['t10', a], ['kept', x]] as const) {
        const rel = `repositories/trash/app/_tags/${tag}/index/sha256/${m.digest.slice(7)}`;
        const at = join(run, rel);
        mkdirSync(join(at, '..'), { recursive: true });
        writeFileSync(at, readFileSync(join(d.root, rel))); // moved aside as it was
        await rm(join(d.root, rel));
      }
      assert.equal((await c.req('DELETE', '/v2/trash/app/manifests/t10')).status, 202);

      const gc = await cairnGc(d.root, ['--grace', '1h', '--json']);
      assert.equal(gc.code, 0, gc.stderr);
      assert.ok(!existsSync(join(d.root, 'repositories/trash/app/_tags/t10')), 'the deleted tag stays deleted');
      assert.ok(existsSync(join(d.root, `repositories/trash/app/_tags/kept/index/sha256/${x.digest.slice(7)}`)), 'the entry of a tag that exists is back');
      assert.deepEqual((await c.req('GET', '/v2/trash/app/tags/list')).json.tags, ['kept']);
      assertOciError(await rawRequest(d.url, 'GET', '/v2/trash/app/manifests/t10'), 404, 'MANIFEST_UNKNOWN');
      const fsck = await fsckJson(d.root);
      assert.equal(fsck.code, 0, JSON.stringify(fsck.report?.findings));
    } finally {
      await d.close();
    }
  });
});
