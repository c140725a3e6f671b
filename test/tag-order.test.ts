// Concurrent writers of one tag, through two daemon processes on one root: whatever
// the interleaving, the history's newest entry is the tag's current revision, and a
// rollback falls back to the revision that was current before. Also: a lock left by
// a writer that died does not wedge the tag, and a filesystem that refuses a rename
// onto an existing folder with EPERM (sshfs) is taken as "someone made it first".
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRegistry } from '../store/index.js';
import { type DaemonProcess, spawnDaemon } from './helpers/cli.js';
import { Client } from './helpers/client.js';
import { startDaemon } from './helpers/daemon.js';
import { type Built, image, sha256 } from './helpers/images.js';

interface Entry {
  digest: string;
  annotations: Record<string, string>;
}

const history = async (c: Client, name: string, tag: string): Promise<Entry[]> =>
  (await c.req('GET', `/v2/${name}/_oci/tag-history/${tag}`)).json.manifests;
const currentOf = async (c: Client, name: string, tag: string) =>
  (await c.req('HEAD', `/v2/${name}/manifests/${tag}`)).headers.get('docker-content-digest');

describe('ten PUTs to one tag at once, through two daemons on one root', () => {
  let root: string;
  let a: DaemonProcess;
  let b: DaemonProcess;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-order-'));
    [a, b] = await Promise.all([spawnDaemon(root), spawnDaemon(root, ['--watch', 'poll'])]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(root, { recursive: true, force: true });
  });

  test('in every round the newest history entry is current, and entries are ordered as current moved', { timeout: 120_000 }, async () => {
    const ca = new Client(a.url);
    const cb = new Client(b.url);
    // Blobs first (shared by every manifest), so the PUTs themselves race.
    const base = image({ layers: ['shared layer'] });
    for (const bl of base.blobs) assert.equal((await ca.pushBlob('race/app', bl)).status, 201);
    const variant = (round: number, i: number): Built => {
      const json = JSON.parse(base.body.toString());
      json.annotations = { round: String(round), i: String(i) };
      const body = Buffer.from(JSON.stringify(json));
      return { ...base, body, digest: sha256(body), size: body.length };
    };
    for (let round = 0; round < 12; round++) {
      const tag = `t${round % 3}`;
      const ms = Array.from({ length: 10 }, (_, i) => variant(round, i));
      const replies = await Promise.all(ms.map((m, i) => (i % 2 ? cb : ca).putManifest('race/app', tag, m)));
      assert.ok(replies.every((r) => r.status === 201), `round ${round}: every PUT acknowledged`);
      const [curA, curB] = [await currentOf(ca, 'race/app', tag), await currentOf(cb, 'race/app', tag)];
      const entries = await history(ca, 'race/app', tag);
      assert.equal(entries[0]!.digest, curA, `round ${round}: the newest entry is current (daemon A)`);
      // B polls: within its watch interval it agrees.
      for (let t = 0; curB !== curA && t < 40; t++) await new Promise((ok) => setTimeout(ok, 50));
      assert.equal(await currentOf(cb, 'race/app', tag), curA, `round ${round}: both daemons agree`);
      const times = entries.map((e) => e.annotations['dev.cairn.tagged-at']!);
      assert.equal(new Set(times).size, times.length, `round ${round}: no two entries share a time`);
      // Roll back the current one: the tag falls back to the entry just below it.
      const del = await cb.req('DELETE', `/v2/race/app/manifests/${tag}/${curA}`);
      assert.equal(del.status, 202);
      assert.equal(await currentOf(cb, 'race/app', tag), entries[1]!.digest, `round ${round}: rollback to what was current before`);
      assert.equal((await history(cb, 'race/app', tag))[0]!.digest, entries[1]!.digest);
    }
  });
});

describe('the tag lock', () => {
  test('a lock left by a dead writer on this host is broken at once; one of another host, once stale', async () => {
    const d = await startDaemon();
    try {
      const c = new Client(d);
      const m1 = image();
      const m2 = image();
      const m3 = image();
      assert.equal((await c.pushImage('lock/app', m1, 'v1')).status, 201);
      const lock = join(d.root, 'repositories/lock/app/_tags/v1/lock');
      await writeFile(lock, JSON.stringify({ host: hostname(), pid: 2 ** 22 + 12345, id: 'dead' })); // no such pid
      assert.equal((await c.pushImage('lock/app', m2, 'v1')).status, 201);
      assert.equal(await currentOf(c, 'lock/app', 'v1'), m2.digest);
      await assert.rejects(fs.stat(lock), 'the lock is released');

      await writeFile(lock, JSON.stringify({ host: 'elsewhere.example', pid: 1, id: 'remote' }));
      const old = new Date(Date.now() - 11_000);
      await fs.utimes(lock, old, old);
      assert.equal((await c.pushImage('lock/app', m3, 'v1')).status, 201);
      assert.equal(await currentOf(c, 'lock/app', 'v1'), m3.digest);
      assert.deepEqual((await history(c, 'lock/app', 'v1')).map((e) => e.digest), [m3.digest, m2.digest, m1.digest]);
    } finally {
      await d.close();
    }
  });

  test('a rename onto an existing tag folder refused with EPERM (sshfs) counts as made by another writer', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cairn-eperm-'));
    await fs.mkdir(join(root, 'tmp'));
    const reg = openRegistry(root);
    const first = image();
    const second = image();
    const realRename = fs.rename;
    try {
      for (const m of [first, second]) {
        for (const bl of m.blobs) {
          const { parseDigest } = await import('../shared/reference.js');
          await reg.blobs.write(parseDigest(bl.digest), bl.data);
          await reg.repos.linkLayer('sshfs/app', parseDigest(bl.digest));
        }
      }
      // Another writer creates the tag between this one's check and its rename, which
      // then fails as sshfs fails it: EPERM, not ENOTEMPTY.
      let injected = false;
      fs.rename = async (src, dest) => {
        if (!injected && String(dest).endsWith('/_tags/v1')) {
          injected = true;
          await openRegistry(root).manifests.put('sshfs/app', first.body, first.mediaType, undefined, ['v1']);
          throw Object.assign(new Error('EPERM: operation not permitted, rename'), { code: 'EPERM' });
        }
        return realRename(src, dest);
      };
      const other = reg;
      await other.manifests.put('sshfs/app', second.body, second.mediaType, undefined, ['v1']);
      assert.ok(injected);
      const tag = await other.repos.tagCurrent('sshfs/app', 'v1');
      assert.equal(`sha256:${tag!.hex}`, second.digest);
      assert.deepEqual((await other.repos.tagHistory('sshfs/app', 'v1')).map((e) => `sha256:${e.digest.hex}`), [second.digest, first.digest]);
    } finally {
      fs.rename = realRename;
      await rm(root, { recursive: true, force: true });
    }
  });
});
