// Push during GC: clients push against the running daemon (new blobs, blobs
// re-used from images whose tags moved away, mounts, new and moved tags, untagged
// pushes) while `cairn gc --grace 2s` runs in a loop on the same root. Afterwards
// every acknowledged tag pulls completely. Bounded to about 15 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Report } from '../gc/report.js';
import { runGc } from '../gc/run.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { cairnGc } from './helpers/gc.js';
import { type Blob, type Built, image, sha256 } from './helpers/images.js';

const PUSH_FOR_MS = 15_000;
const REPOS = ['race/a', 'race/b'];

let daemon: TestDaemon;
let client: Client;

before(async () => {
  daemon = await startDaemon();
  client = new Client(daemon.url);
});
after(() => daemon.close());

const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** The client's side of "exists → skip upload": HEAD, then mount, then upload only what is missing. */
async function pushBlobs(name: string, blobs: Blob[]): Promise<void> {
  for (const b of blobs) {
    if ((await client.req('HEAD', `/v2/${name}/blobs/${b.digest}`)).status === 200) continue;
    const other = REPOS.find((r) => r !== name)!;
    const mount = await client.req('POST', `/v2/${name}/blobs/uploads/?mount=${b.digest}&from=${other}`);
    if (mount.status === 201) continue;
    if (mount.status === 202) {
      const location = mount.headers.get('location')!;
      const sep = location.includes('?') ? '&' : '?';
      const put = await client.req('PUT', `${location}${sep}digest=${b.digest}`, { body: b.data, headers: { 'Content-Type': 'application/octet-stream' } });
      if (put.status === 201) continue;
    }
    await client.pushBlob(name, b);
  }
}

test('push during GC: every acknowledged tag pulls completely, zero losses', async (t) => {
  const pool = Array.from({ length: 30 }, (_, i) => `pooled layer ${i} ${Math.random()}`);
  /** The last acknowledged manifest of each repo:tag (each tag has one writer, so the last ack is current). */
  const acked = new Map<string, Built>();
  const history = new Map<string, Built[]>();
  const stats = { pushes: 0, refused: 0, gcRuns: 0, blobsRemoved: 0, revisionsRemoved: 0, spared: 0 };
  const deadline = Date.now() + PUSH_FOR_MS;
  let pushing = true;

  // Runs alternate between the CLI in its own process (true parallelism) and the
  // exported runGc, which waits up to 400 ms between mark and sweep: a wide window in
  // which pushes re-use exactly what the plan has doomed.
  const gcLoop = (async () => {
    while (pushing) {
      let report: Report;
      if (stats.gcRuns % 2 === 0) {
        const run = await cairnGc(daemon.root, ['--grace', '2s', '--json']);
        assert.equal(run.code, 0, run.stderr);
        report = run.report;
      } else {
        report = await runGc(
          { root: daemon.root, keep: [], keepHistory: 0, graceMs: 2000, uploadTtlMs: 86_400_000, dryRun: false },
          { onPlan: () => sleep(Math.random() * 400) },
        );
      }
      stats.gcRuns++;
      stats.blobsRemoved += report.blobsRemoved;
      stats.revisionsRemoved += report.revisionsRemoved;
      stats.spared += report.spared.length;
      await sleep(50);
    }
  })();

  const worker = async (w: number) => {
    let n = 0;
    while (Date.now() < deadline) {
      const name = pick(REPOS);
      const tag = `w${w}-${n % 3}`;
      const key = `${name}:${tag}`;
      const past = history.get(key) ?? [];
      // Mostly new images over re-used pooled layers; sometimes move the tag back to an
      // older revision (an identical re-PUT), sometimes push untagged.
      const back = past.length > 1 && Math.random() < 0.2 ? pick(past.slice(0, -1)) : undefined;
      const m = back ?? image({ layers: [pick(pool), pick(pool), ...(Math.random() < 0.5 ? [`fresh ${w} ${n} ${Math.random()}`] : [])] });
      const untagged = !back && Math.random() < 0.15;
      for (let attempt = 0; attempt < 3; attempt++) {
        await pushBlobs(name, m.blobs);
        const r = await client.putManifest(name, untagged ? m.digest : tag, m);
        if (r.status === 201) {
          stats.pushes++;
          if (!untagged) {
            acked.set(key, m);
            if (!back) history.set(key, [...past, m]);
          }
          break;
        }
        // Refused (not acknowledged): a blob went between HEAD and PUT. Allowed, counted.
        assert.equal(r.status, 400, `${r.status} ${r.body}`);
        stats.refused++;
      }
      n++;
      await sleep(Math.random() * 40);
    }
  };

  await Promise.all([0, 1, 2].map(worker));
  pushing = false;
  await gcLoop;
  // One more collection after the pushes stop: acknowledged tags must survive it too.
  const last = await cairnGc(daemon.root, ['--grace', '2s', '--json']);
  assert.equal(last.code, 0, last.stderr);

  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.gcRuns >= 5, 'the gc ran repeatedly while pushes went on');
  assert.ok(stats.blobsRemoved > 0 && stats.revisionsRemoved > 0, 'the gc really collected while pushes went on');

  const losses: string[] = [];
  for (const [key, m] of acked) {
    const [name, tag] = key.split(':') as [string, string];
    const r = await client.req('GET', `/v2/${name}/manifests/${tag}`, { headers: { Accept: m.mediaType } });
    if (r.status !== 200 || r.headers.get('docker-content-digest') !== m.digest) {
      losses.push(`${key}: manifest ${r.status} ${r.headers.get('docker-content-digest')}`);
      continue;
    }
    for (const b of m.blobs) {
      const g = await client.req('GET', `/v2/${name}/blobs/${b.digest}`);
      if (g.status !== 200 || sha256(g.body) !== b.digest) losses.push(`${key}: blob ${b.digest} ${g.status}`);
    }
  }
  assert.deepEqual(losses, [], `${losses.length} loss(es) among ${acked.size} acknowledged tags`);
  assert.ok(acked.size >= 6);
});

