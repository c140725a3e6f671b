// Two daemon processes over one root (the tree is the only state), and a
// `cairn gc` beside them. Daemon A watches with inotify, B polls (the network
// filesystem mode), so both watcher modes are driven. Whatever one process changes,
// the other serves within 1 s; every acknowledged push is served by both; fsck
// finds the tree clean at the end.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { runGc } from '../gc/run.js';
import { cairn, daemonPairForFile, fsckJson } from './helpers/cli.js';
import type { Client } from './helpers/client.js';
import { type Built, image, sha256 } from './helpers/images.js';

const two = daemonPairForFile('cairn-two-', { a: ['--watch', 'inotify'], b: ['--watch', 'poll'] });

/** Polls `check` until it holds, for at most `ms`: "served within a bounded wait". */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

async function serves(c: Client, name: string, ref: string, m: Built): Promise<boolean> {
  const r = await c.req('GET', `/v2/${name}/manifests/${ref}`, { headers: { Accept: m.mediaType } });
  if (r.status !== 200 || r.headers.get('docker-content-digest') !== m.digest) return false;
  for (const blob of m.blobs) {
    const br = await c.req('GET', `/v2/${name}/blobs/${blob.digest}`);
    if (br.status !== 200 || sha256(br.body) !== blob.digest) return false;
  }
  return true;
}

test('push through one while pulling through the other: each push served by the other within 1 s', async () => {
  // Warm B's caches first, so the test proves they are dropped, not merely empty.
  const first = image();
  await two.ca.pushImage('shop/api', first, 'live');
  await within(1000, 'first push on B', () => serves(two.cb, 'shop/api', 'live', first));
  await two.cb.req('GET', '/v2/_catalog');
  for (let i = 0; i < 5; i++) {
    const m = image();
    await two.ca.pushImage('shop/api', m, 'live');
    await within(1000, `tag move ${i} on B`, () => serves(two.cb, 'shop/api', 'live', m));
  }
  // A new repository made by A appears in B's (cached) catalog; and the other way round.
  await two.ca.pushImage('shop/web', image(), 'v1');
  await within(1000, 'catalog on B', async () => (await two.cb.req('GET', '/v2/_catalog')).json.repositories.includes('shop/web'));
  await two.ca.req('GET', '/v2/_catalog');
  await two.cb.pushImage('shop/db', image(), 'v1');
  await within(1000, 'catalog on A', async () => (await two.ca.req('GET', '/v2/_catalog')).json.repositories.includes('shop/db'));
  // A DELETE through A is seen by B (its manifest cache holds the revision).
  const gone = image();
  await two.ca.pushImage('shop/api', gone, 'temp');
  assert.ok(await serves(two.cb, 'shop/api', gone.digest, gone));
  assert.equal((await two.ca.req('DELETE', `/v2/shop/api/manifests/${gone.digest}`)).status, 202);
  await within(1000, 'delete seen by B', async () => (await two.cb.req('GET', `/v2/shop/api/manifests/${gone.digest}`)).status === 404);
});

test('the same blob and the same tag pushed through both at once', async () => {
  const shared = image();
  const [x, y] = [image(), image()];
  for (let round = 0; round < 5; round++) {
    const tag = `race${round}`;
    await Promise.all([two.ca.pushImage('race', shared, tag), two.cb.pushImage('race', shared, tag)]);
    await Promise.all([two.ca.pushImage('race', x, `two${round}`), two.cb.pushImage('race', y, `two${round}`)]);
    for (const c of [two.ca, two.cb]) {
      assert.ok(await serves(c, 'race', tag, shared));
      const current = (await c.req('HEAD', `/v2/race/manifests/two${round}`)).headers.get('docker-content-digest');
      assert.ok(current === x.digest || current === y.digest, String(current));
      // Both pushes were acknowledged, so both are in the tag's history.
      for (const m of [x, y]) assert.equal((await c.req('HEAD', `/v2/race/manifests/two${round}/${m.digest}`)).status, 200);
    }
  }
});

test('a gc beside both daemons: pushes during it survive; what it unlinks stops being served', async () => {
  const old = image();
  const kept = image();
  await two.ca.pushImage('gcd', old, 'v');
  await two.ca.pushImage('gcd', kept, 'v');
  assert.ok(await serves(two.cb, 'gcd', old.digest, old)); // in B's manifest cache now
  const pushes: { c: Client; tag: string; m: Built; startedAt: number; refused?: string }[] = [];
  let running = true;
  const pushing = (async () => {
    for (let i = 0; running || i < 4; i++) {
      const p = { c: i % 2 ? two.cb : two.ca, tag: `p${i}`, m: image(), startedAt: Date.now(), refused: undefined as string | undefined };
      pushes.push(p);
      await p.c.pushImage('gcd', p.m, p.tag).catch((err: Error) => (p.refused = err.message));
    }
  })();
  const gcRun = await cairn(['gc', '--root', two.root, '--grace', '0s', '--json']);
  running = false;
  await pushing;
  assert.equal(gcRun.code, 0, gcRun.stderr);
  const report = JSON.parse(gcRun.stdout);
  assert.ok(report.revisionsRemoved >= 1);
  // Every push begun after the mark began survives. One begun before it may have had
  // its new layer swept before its manifest came (--grace 0s: that is what it asks
  // for); its PUT is then refused, never acknowledged and lost.
  const marked = Date.parse(report.markedAt);
  for (const p of pushes.filter((p) => p.refused)) {
    assert.ok(p.startedAt < marked, `${p.tag}, begun after the mark, was refused: ${p.refused}`);
    assert.match(p.refused!, /MANIFEST_BLOB_UNKNOWN/);
  }
  for (const c of [two.ca, two.cb]) {
    assert.ok(await serves(c, 'gcd', 'v', kept));
    for (const p of pushes.filter((p) => !p.refused)) assert.ok(await serves(c, 'gcd', p.tag, p.m), `${p.tag} after gc`);
    await within(1000, 'unlinked revision gone', async () => (await c.req('GET', `/v2/gcd/manifests/${old.digest}`)).status === 404);
  }
  const checked = await fsckJson(two.root);
  assert.equal(checked.code, 0, JSON.stringify(checked.report.findings));
});

test('a blob pushed while the gc reads the tree is fresh to it even with --grace 0s: its manifest PUT after the sweep succeeds', async () => {
  await two.ca.pushImage('mark/base', image(), 'v'); // a repository, so the inventory reports progress
  const m = image();
  let pushedDuringMark = false;
  const report = await runGc(
    { root: two.root, keep: [], keepHistory: 0, graceMs: 0, uploadTtlMs: 86_400_000, dryRun: false },
    {
      onProgress: (phase) => {
        if (phase !== 'mark' || pushedDuringMark) return;
        pushedDuringMark = true;
        // Synchronously, so the inventory lists these blobs after the daemon wrote them.
        for (const b of m.blobs) {
          execFileSync(process.execPath, ['--input-type=module', '-e', PUSH_BLOB, `${two.a.url}/v2/mark/blobs/uploads/?digest=${b.digest}`, b.data.toString('base64')]);
        }
      },
      onPlan: (plan) => {
        for (const b of m.blobs) assert.ok(!plan.items.some((i) => i.digest === b.digest), `${b.digest} doomed`);
      },
    },
  );
  assert.ok(pushedDuringMark);
  assert.deepEqual(report.spared.filter((i) => m.blobs.some((b) => b.digest === i.digest)), []);
  assert.equal((await two.cb.putManifest('mark', 'v', m)).status, 201);
  assert.ok(await serves(two.ca, 'mark', 'v', m));
});

/** A monolithic blob upload from a child process: argv is the URL and the bytes in base64. */
const PUSH_BLOB = `
const [url, data] = process.argv.slice(-2);
const r = await fetch(url, { method: 'POST', body: Buffer.from(data, 'base64'), headers: { 'Content-Type': 'application/octet-stream' } });
if (r.status !== 201) { console.error(r.status, await r.text()); process.exit(1); }
`;
