// `cairn gc` scenarios, each named for what it protects. A real daemon serves a
// temp root; the real CLI collects it; ages are set with utimes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe as suite, test } from 'node:test';
import { Paths } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';
import { acquireLock } from '../store/gclock.js';
import { runGc } from '../gc/run.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { ageTree, cairnGc, DAY, HOUR } from './helpers/gc.js';
import { artifact, blob, type Built, image, index, sha256 } from './helpers/images.js';
import { snapshot } from './helpers/tree.js';

let daemon: TestDaemon;
let client: Client;
let paths: Paths;
let work: string; // keep-list files, outside the root

before(async () => {
  daemon = await startDaemon();
  client = new Client(daemon.url);
  paths = new Paths(daemon.root);
  work = await mkdtemp(join(tmpdir(), 'cairn-gc-keep-'));
});
after(async () => {
  await daemon.close();
  await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function blobExists(digest: string): Promise<boolean> {
  return readFile(paths.blob(parseDigest(digest))).then(
    () => true,
    () => false,
  );
}

/** Pulls name:ref completely: manifest, then every blob, each hashing to its digest. */
async function assertPulls(name: string, ref: string, expected?: Built): Promise<void> {
  const m = await client.req('GET', `/v2/${name}/manifests/${ref}`, { headers: { Accept: '*/*' } });
  assert.equal(m.status, 200, `${name}:${ref} manifest: ${m.status} ${m.body}`);
  if (expected) assert.equal(m.headers.get('docker-content-digest'), expected.digest);
  const json = m.json;
  const descriptors = json.manifests ?? [json.config, ...json.layers];
  for (const d of descriptors) {
    const path = json.manifests ? `/v2/${name}/manifests/${d.digest}` : `/v2/${name}/blobs/${d.digest}`;
    const r = await client.req('GET', path, { headers: { Accept: '*/*' } });
    assert.equal(r.status, 200, `${name} ${d.digest}: ${r.status}`);
    assert.equal(sha256(r.body), d.digest);
  }
}

async function history(name: string, tag: string): Promise<string[]> {
  const r = await client.req('GET', `/v2/${name}/_oci/tag-history/${tag}`);
  assert.equal(r.status, 200);
  return r.json.manifests.map((m: { digest: string }) => m.digest);
}

suite('cairn gc', () => {
  test('a layer shared by two repositories survives when one repository’s image goes', async () => {
    const shared = `shared layer ${Math.random()}`;
    const x = image({ layers: [shared, `only in a ${Math.random()}`] });
    const y = image({ layers: [shared, `only in b ${Math.random()}`] });
    await client.pushImage('shared/a', x, 'v1');
    await client.pushImage('shared/b', y, 'v1');
    assert.equal((await client.req('DELETE', '/v2/shared/a/manifests/v1')).status, 202);
    await ageTree(daemon.root, 2 * HOUR);

    const { code, report } = await cairnGc(daemon.root, ['--json']);
    assert.equal(code, 0);
    const sharedDigest = x.blobs[1]!.digest;
    assert.ok(await blobExists(sharedDigest), 'the shared layer is still stored');
    assert.ok(!(await blobExists(x.blobs[2]!.digest)), "a's own layer is gone");
    assert.ok(!(await blobExists(x.digest)), "a's manifest is gone");
    assert.ok(report.removed.some((i: any) => i.kind === 'layer-link' && i.repository === 'shared/a' && i.digest === sharedDigest));
    await assertPulls('shared/b', 'v1', y);
    assert.equal((await client.req('HEAD', `/v2/shared/a/blobs/${sharedDigest}`)).status, 404, 'a no longer serves it');
  });

  test('uploading a blob again refreshes its layer link and blob, so a gc keeps them for a manifest to come', async () => {
    const again = blob(`again ${Math.random()}`);
    await client.pushBlob('again', again);
    await ageTree(daemon.root, 2 * HOUR);
    await client.pushBlob('again', again);
    const d = parseDigest(again.digest);
    for (const p of [paths.layer('again', d), paths.blob(d)]) {
      assert.ok(Date.now() - (await stat(p)).mtimeMs < HOUR, `${p} was not touched`);
    }
    const run = await cairnGc(daemon.root, ['--json']);
    assert.equal(run.code, 0);
    assert.equal((await client.req('HEAD', `/v2/again/blobs/${again.digest}`)).status, 200);
  });

  test('an orphan blob older than the grace period goes; the same blob inside grace stays', async () => {
    const orphan = blob(`orphan ${Math.random()}`);
    await client.pushBlob('orphans', orphan);

    let run = await cairnGc(daemon.root, ['--json']);
    assert.equal(run.code, 0);
    assert.ok(await blobExists(orphan.digest), 'a blob pushed just now stays (a manifest PUT may follow)');
    assert.ok(!run.report.removed.some((i: any) => i.digest === orphan.digest));

    await ageTree(daemon.root, 2 * HOUR);
    run = await cairnGc(daemon.root, ['--json']);
    assert.equal(run.code, 0);
    assert.ok(!(await blobExists(orphan.digest)), 'the aged orphan is gone');
    assert.ok(run.report.removed.some((i: any) => i.kind === 'blob' && i.digest === orphan.digest && i.bytes === orphan.size));
    assert.equal((await client.req('HEAD', `/v2/orphans/blobs/${orphan.digest}`)).status, 404);
    // 'orphans' holds only layer links (no manifest ever came): its link goes with the blob, none is left dangling.
    assert.ok(run.report.removed.some((i: any) => i.kind === 'layer-link' && i.repository === 'orphans' && i.digest === orphan.digest));
    assert.equal(await stat(paths.layer('orphans', parseDigest(orphan.digest))).catch(() => undefined), undefined);
  });

  test('a tag pushed 5 times keeps its current revision by default, the newest 3 with --keep-history 3, and keep-listed ones', async () => {
    const revs: Built[] = [];
    for (let i = 0; i < 5; i++) {
      const m = image({ layers: [`history ${i} ${Math.random()}`] });
      await client.pushImage('hist', m, 't');
      revs.push(m);
      await sleep(5); // distinct tagged-at times
    }
    const [r1, r2, r3, r4, r5] = revs as [Built, Built, Built, Built, Built];
    assert.deepEqual(await history('hist', 't'), [r5, r4, r3, r2, r1].map((r) => r.digest));
    await ageTree(daemon.root, 2 * HOUR);

    // --keep-history 3 plus a keep-listed older revision (name@digest form).
    const keepFile = join(work, 'keep.txt');
    await writeFile(keepFile, `# release tracker\nhist@${r2.digest}\n\n`);
    let run = await cairnGc(daemon.root, ['--json', '--keep-history', '3', '--keep', keepFile]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await history('hist', 't'), [r5, r4, r3, r2].map((r) => r.digest));
    assert.equal((await client.req('GET', `/v2/hist/manifests/${r1.digest}`)).status, 404, 'pruned r1 is gone');
    assert.ok(!(await blobExists(r1.blobs[1]!.digest)), "r1's layer is gone");

    // Default history policy, keep-list in the name:tag@digest form on stdin.
    run = await cairnGc(daemon.root, ['--json', '--keep', '-'], { stdin: `hist:t@${r2.digest}\n` });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await history('hist', 't'), [r5, r2].map((r) => r.digest), 'a keep-listed revision keeps its place in the history');
    await assertPulls('hist', r2.digest, r2);
    assert.equal((await client.req('GET', `/v2/hist/manifests/t/${r2.digest}`)).status, 200);
    for (const r of [r3, r4]) assert.equal((await client.req('GET', `/v2/hist/manifests/${r.digest}`)).status, 404);

    run = await cairnGc(daemon.root, ['--json']);
    assert.equal(run.code, 0);
    assert.deepEqual(await history('hist', 't'), [r5.digest], 'by default only the current revision stays');
    assert.equal(run.report.revisionsRemoved, 1);
    await assertPulls('hist', 't', r5);
  });

  test('an index keeps its children; a referrer survives with its kept subject and goes with a removed one', async () => {
    const c1 = image({ layers: [`child 1 ${Math.random()}`] });
    const c2 = image({ layers: [`child 2 ${Math.random()}`] });
    await client.pushImage('multi', c1);
    await client.pushImage('multi', c2);
    const idx = index([c1, c2]);
    assert.equal((await client.putManifest('multi', 'latest', idx)).status, 201);
    const keptSig = artifact('application/vnd.example.sig', idx);
    await client.pushImage('multi', keptSig);

    const old = image({ layers: [`old ${Math.random()}`] });
    await client.pushImage('multi', old, 'app');
    const oldSig = artifact('application/vnd.example.sig', old);
    await client.pushImage('multi', oldSig);
    await client.pushImage('multi', image({ layers: [`new ${Math.random()}`] }), 'app'); // old is now only in history
    await ageTree(daemon.root, 2 * HOUR);

    const { code, report } = await cairnGc(daemon.root, ['--json']);
    assert.equal(code, 0);
    await assertPulls('multi', 'latest', idx);
    for (const c of [c1, c2]) await assertPulls('multi', c.digest, c);
    await assertPulls('multi', keptSig.digest, keptSig);
    const refs = await client.req('GET', `/v2/multi/referrers/${idx.digest}`);
    assert.deepEqual(refs.json.manifests.map((m: { digest: string }) => m.digest), [keptSig.digest]);

    for (const gone of [old, oldSig]) assert.equal((await client.req('GET', `/v2/multi/manifests/${gone.digest}`)).status, 404);
    assert.ok(!(await blobExists(oldSig.blobs[1]!.digest)), "the removed referrer's payload is gone");
    assert.equal((await client.req('GET', `/v2/multi/referrers/${old.digest}`)).json.manifests.length, 0);
    assert.ok(report.removed.some((i: any) => i.kind === 'referrer-link' && i.digest === oldSig.digest));
  });

  test("--dry-run's plan equals what the real run then removes", async () => {
    const name = 'dry';
    await client.pushImage(name, image({ layers: [`dry 1 ${Math.random()}`] }), 'a');
    await client.pushImage(name, image({ layers: [`dry 2 ${Math.random()}`] }), 'a');
    await client.pushImage(name, image({ layers: [`dry 3 ${Math.random()}`] })); // untagged
    await client.pushBlob(name, blob(`dry orphan ${Math.random()}`));
    const upload = await client.req('POST', `/v2/${name}/blobs/uploads/`);
    assert.equal(upload.status, 202);
    assert.equal((await client.req('PATCH', upload.headers.get('location')!, { body: Buffer.from('stale bytes') })).status, 202); // its folder comes with its first bytes
    // An orphaned signature folder: its payload blob does not exist.
    const payload = parseDigest(sha256(`no such payload ${Math.random()}`));
    await mkdir(paths.signaturesOf(payload), { recursive: true });
    await writeFile(paths.signature(payload, 'a'.repeat(64)), 'jws');
    await ageTree(daemon.root, 2 * HOUR);

    const before = await snapshot(daemon.root);
    const dry = await cairnGc(daemon.root, ['--json', '--dry-run', '--upload-ttl', '1h']);
    assert.equal(dry.code, 0);
    assert.deepEqual(await snapshot(daemon.root), before, 'a dry run changes nothing');
    const human = await cairnGc(daemon.root, ['--dry-run', '--upload-ttl', '1h']);
    assert.match(human.stdout, /^plan \(dry run/m);
    assert.match(human.stdout, /would remove/);

    const real = await cairnGc(daemon.root, ['--json', '--upload-ttl', '1h']);
    assert.equal(real.code, 0);
    const strip = (items: any[]) => items.map(({ kind, ref, bytes }) => ({ kind, ref, bytes }));
    assert.deepEqual(strip(real.report.removed), strip(dry.report.removed));
    assert.deepEqual(real.report.spared, []);
    for (const key of ['revisionsRemoved', 'blobsRemoved', 'bytesFreed', 'uploadsRemoved', 'signaturesRemoved', 'layerLinksRemoved']) {
      assert.equal(real.report[key], dry.report[key], key);
    }
    assert.ok(dry.report.uploadsRemoved >= 1 && dry.report.signaturesRemoved >= 1 && dry.report.revisionsRemoved >= 2);
    assert.equal(typeof real.report.durationMs, 'number');

    // And the tree lost exactly what the plan said: nothing else.
    const afterSnap = await snapshot(daemon.root);
    const vanished = Object.keys(before).filter((p) => !(p in afterSnap) && !p.endsWith('/'));
    const planned = new Set(
      real.report.removed.flatMap((i: any) => {
        const d = i.digest && parseDigest(i.digest);
        switch (i.kind) {
          case 'history-entry': return [paths.tagIndexEntry(i.repository, i.tag, d)];
          case 'revision': return [paths.revision(i.repository, d)];
          case 'referrer-link': return [paths.referrer(i.repository, parseDigest(i.subject), d)];
          case 'layer-link': return [paths.layer(i.repository, d)];
          case 'blob': return [paths.blob(d)];
          case 'signatures': return [paths.signature(d, 'a'.repeat(64))];
          case 'upload': return [paths.uploadData(i.repository, i.upload), paths.uploadState(i.repository, i.upload)];
          default: return [];
        }
      }).map((p: string) => paths.relative(p)),
    );
    assert.deepEqual(vanished.sort(), [...planned].sort());
  });

  test('a bad keep-list line aborts with file:line and the tree is byte-for-byte unchanged', async () => {
    await client.pushImage('badkeep', image({ layers: [`bad 1 ${Math.random()}`] }), 'x');
    await client.pushImage('badkeep', image({ layers: [`bad 2 ${Math.random()}`] }), 'x');
    await client.pushBlob('badkeep', blob(`bad orphan ${Math.random()}`));
    await ageTree(daemon.root, 2 * HOUR);
    const keepFile = join(work, 'badkeep.txt');
    await writeFile(keepFile, 'badkeep:x\n# fine so far\nBadKeep:x@sha256:123\n');

    const before = await snapshot(daemon.root);
    const run = await cairnGc(daemon.root, ['--keep', keepFile]);
    assert.equal(run.code, 2);
    assert.ok(run.stderr.includes(`${keepFile}:3:`), run.stderr);
    assert.deepEqual(await snapshot(daemon.root), before);
  });

  test('a second gc refuses while one holds the lock; a lock left by a dead pid is taken over with a warning', async () => {
    const lock = await acquireLock(paths, () => undefined);
    try {
      const run = await cairnGc(daemon.root, ['--json']);
      assert.equal(run.code, 3);
      assert.match(run.stderr, new RegExp(`another gc holds .*gc\\.lock \\(pid ${process.pid}`));
    } finally {
      await lock.release();
    }

    const deadPid = await new Promise<number>((ok) => {
      const child = execFile(process.execPath, ['-e', '']);
      child.once('exit', () => ok(child.pid!));
    });
    const stale = JSON.stringify({ pid: deadPid, host: hostname(), startedAt: new Date(Date.now() - DAY).toISOString() });
    await writeFile(paths.gcLock(), stale);
    const run = await cairnGc(daemon.root, ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`warning: taking over .*gc\\.lock left by gc pid ${deadPid}`));
    assert.ok(run.report.warnings.some((w: string) => w.includes(`gc pid ${deadPid}`)));
    await assert.rejects(readFile(paths.gcLock()), { code: 'ENOENT' }, 'the lock is released after the run');
  });

  test('exists → skip upload → PUT manifest between mark and sweep loses nothing', async () => {
    // An image whose tag moves away: its revision and blobs are doomed once aged.
    const base = `base layer ${Math.random()}`;
    const oldImg = image({ layers: [base, `old top ${Math.random()}`] });
    await client.pushImage('between', oldImg, 'app');
    await client.pushImage('between', image({ layers: [`other ${Math.random()}`] }), 'app');
    await ageTree(daemon.root, 2 * HOUR);

    const reused = image({ layers: [base, `new top ${Math.random()}`] });
    const report = await runGc(
      { root: daemon.root, keep: [], keepHistory: 0, graceMs: HOUR, uploadTtlMs: DAY, dryRun: false },
      {
        // The mark is done and the plan dooms the old image; now a client pushes.
        onPlan: async (plan) => {
          assert.ok(plan.items.some((i) => i.kind === 'blob' && i.digest === oldImg.blobs[1]!.digest), 'the base layer is doomed');
          assert.ok(plan.items.some((i) => i.kind === 'revision' && i.digest === oldImg.digest));
          for (const b of reused.blobs) {
            const head = await client.req('HEAD', `/v2/between/blobs/${b.digest}`);
            if (head.status !== 200) await client.pushBlob('between', b);
          }
          assert.equal((await client.putManifest('between', 'next', reused)).status, 201);
          // And someone re-tags the old revision, which the plan also dooms.
          assert.equal((await client.putManifest('between', 'back', oldImg)).status, 201);
        },
      },
    );
    assert.ok(report.spared.some((s) => s.kind === 'blob' && s.digest === oldImg.blobs[1]!.digest));
    assert.ok(report.spared.some((s) => s.kind === 'revision' && s.digest === oldImg.digest));
    await assertPulls('between', 'next', reused);
    await assertPulls('between', 'back', oldImg);
  });

  test('blobs no manifest references go first, and one a push relies on between mark and sweep stays', async () => {
    // Uploaded, never put in a manifest: what the sweep's first pass removes.
    const img = image({ layers: [`uploaded early ${Math.random()}`] });
    const [config, used] = img.blobs as [ReturnType<typeof blob>, ReturnType<typeof blob>];
    const lone = blob(`lone ${Math.random()}`);
    for (const b of [used, lone]) assert.equal((await client.pushBlob('early', b)).status, 201);
    // And an image whose tag moves away, so the plan also has referenced blobs to remove later.
    const gone = image({ layers: [`moved away ${Math.random()}`] });
    await client.pushImage('early', gone, 'app');
    await client.pushImage('early', image({ layers: [`stays ${Math.random()}`] }), 'app');
    await ageTree(daemon.root, 2 * HOUR);

    const report = await runGc(
      { root: daemon.root, keep: [], keepHistory: 0, graceMs: HOUR, uploadTtlMs: DAY, dryRun: false },
      {
        onPlan: async (plan) => {
          const first = plan.items.slice(0, plan.unreferenced).map((i) => `${i.kind} ${i.digest}`);
          assert.deepEqual(new Set(first), new Set([used, lone].flatMap((b) => [`layer-link ${b.digest}`, `blob ${b.digest}`])));
          assert.ok(plan.items.slice(plan.unreferenced).some((i) => i.kind === 'blob' && i.digest === gone.blobs[1]!.digest));
          // exists → skip upload → PUT manifest, after the mark and before the sweep.
          assert.equal((await client.req('HEAD', `/v2/early/blobs/${used.digest}`)).status, 200);
          assert.equal((await client.pushBlob('early', config)).status, 201);
          assert.equal((await client.putManifest('early', 'late', img)).status, 201);
        },
      },
    );
    const removed = report.removed.map((i) => `${i.kind} ${i.digest}`);
    assert.deepEqual(removed.slice(0, 2), [`layer-link ${lone.digest}`, `blob ${lone.digest}`], 'the unreferenced blob went first');
    assert.ok(removed.includes(`blob ${gone.blobs[1]!.digest}`));
    assert.ok(report.spared.some((i) => i.kind === 'blob' && i.digest === used.digest));
    await assertPulls('early', 'late', img);
  });
});

test('a schema1 image keeps its fsLayers', async () => {
  const layer = blob(`schema1 layer ${Math.random()}`);
  await client.pushBlob('s1/app', layer);
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 1,
    name: 's1/app',
    tag: 'v1',
    architecture: 'amd64',
    fsLayers: [{ blobSum: layer.digest }],
    history: [{ v1Compatibility: '{"id":"x"}' }],
  }, null, 3));
  const put = await client.req('PUT', '/v2/s1/app/manifests/v1', {
    body,
    headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+json' },
  });
  assert.equal(put.status, 201, String(put.body));
  await ageTree(daemon.root, 2 * HOUR);
  const { code } = await cairnGc(daemon.root, ['--json']);
  assert.equal(code, 0);
  assert.ok(await blobExists(layer.digest), 'the layer a schema1 manifest names is kept');
  assert.equal((await client.req('GET', `/v2/s1/app/blobs/${layer.digest}`)).status, 200);
});

test('a push racing the mark: the current revision’s history entry stays even if the revision was listed too late', async () => {
  const { makePlan } = await import('../gc/plan.js');
  const x = `sha256:${'a'.repeat(64)}`;
  const old = Date.now() - DAY;
  // The inventory listed revisions before the daemon linked x, then listed the tag it already pointed at x.
  const inv = {
    repositories: [{
      name: 'race/mark',
      revisions: new Map(),
      tags: [{ tag: 'v1', current: x, currentMtimeMs: old, history: [{ digest: x, taggedAt: new Date(old).toISOString(), mtimeMs: old }] }],
      layers: new Map(),
      referrers: [],
      uploads: [],
    }],
    manifests: new Map(),
    blobs: new Map(),
    signatures: [],
  };
  const plan = makePlan(inv, [], { keepHistory: 0, graceMs: 0, uploadTtlMs: DAY }, Date.now());
  assert.deepEqual(plan.items.filter((i) => i.kind === 'history-entry'), []);
});

test('a tag naming no revision warns, unless the tag moved since the mark began (a push beside the GC)', async () => {
  const { makePlan } = await import('../gc/plan.js');
  const now = Date.now();
  const tag = (name: string, digest: string, mtimeMs: number) => ({ tag: name, current: digest, currentMtimeMs: mtimeMs, history: [] });
  const [stale, moved] = ['b', 'c'].map((c) => `sha256:${c.repeat(64)}`) as [string, string];
  const inv = {
    repositories: [{ name: 'race/tags', revisions: new Map(), tags: [tag('old', stale, now - DAY), tag('new', moved, now + 5)], layers: new Map(), referrers: [], uploads: [] }],
    manifests: new Map(),
    blobs: new Map(),
    signatures: [],
  };
  const plan = makePlan(inv, [], { keepHistory: 0, graceMs: 0, uploadTtlMs: DAY }, now);
  assert.deepEqual(plan.warnings, [`race/tags@${stale} is a root (tag, keep-list or history) but not a revision of race/tags`]);
});

test('a gc that removes history entries compacts the tag’s log to the entries left', async () => {
  const revisions = Array.from({ length: 4 }, (_, i) => image({ layers: [`compact ${i}`] }));
  for (const m of revisions) await client.pushImage('gc/compact', m, 'v1');
  await ageTree(daemon.root, 2 * DAY);
  const r = await cairnGc(daemon.root, ['--grace', '0s', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const log = await readFile(new Paths(daemon.root).tagLog('gc/compact', 'v1'), 'utf8');
  assert.deepEqual(log.trim().split('\n').map((l) => l.split(' ')[1]), [revisions[3]!.digest]);
  assert.deepEqual(await history('gc/compact', 'v1'), [revisions[3]!.digest]);
});
