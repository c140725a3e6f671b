// GC over the same content on both targets: everything the earlier scenarios
// pushed (the big blobs are unreferenced garbage, the small images and the
// tags repository are kept) plus one tag moved through N revisions. Cairn's GC runs
// beside its serving daemon, which a probe keeps asking for manifests; Distribution
// is stopped first, as its docs require, and started again afterwards.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { blob, image, pushMonolithic, putManifest } from './images.js';
import { expectStatus, pool, timed } from './http.js';
import { type Context, type Row, row, usageRows } from './scenario.js';
import { CLI, type Kind, type Server, cpuSecondsOf, peakRssOf } from './servers.js';

const REPO = 'gc/churn';

interface Outcome {
  seconds: number;
  gcPeakMiB?: number;
  gcCpu?: number;
  daemonCpu?: number;
  revisionsBefore: number;
  revisionsAfter: number;
  blobsBefore: number;
  blobsAfter: number;
  note: string;
  daemonPeakMiB?: number;
}

export async function gcScenario(ctx: Context): Promise<Row[]> {
  const n = ctx.sizes.gcRevisions;
  const layer = blob(Buffer.alloc(1024, 7));
  const images = Array.from({ length: n }, (_, i) => image([layer], `gc-${i}`));
  for (const s of [ctx.cairn, ctx.distribution]) {
    const { seconds } = await timed(async () => {
      expectStatus(await pushMonolithic(s.client, REPO, layer), 'push layer', 201);
      await pool(images, 16, async (img) => expectStatus(await pushMonolithic(s.client, REPO, img.blobs[1]!), 'push config', 201));
      for (const img of images) await putManifest(s.client, REPO, 'latest', img.manifest); // in order: each one moves the tag
    });
    ctx.log(`  ${s.kind}: ${n} revisions of ${REPO}:latest pushed in ${seconds.toFixed(1)} s`);
  }
  const keep = images[n - 1]!;
  const outcomes: Partial<Record<Kind, Outcome>> = {};
  outcomes.cairn = await cairnGc(ctx, ctx.cairn, keep.manifest.digest);
  outcomes.distribution = await distributionGc(ctx, ctx.distribution, keep.manifest.digest);
  for (const [kind, o] of Object.entries(outcomes)) {
    ctx.log(`  ${kind}: ${o.seconds.toFixed(2)} s; revisions ${o.revisionsBefore} → ${o.revisionsAfter}, blobs ${o.blobsBefore} → ${o.blobsAfter}; ${o.note}`);
  }
  const c = outcomes.cairn;
  const d = outcomes.distribution;
  const same = c.revisionsAfter === 1 && d.revisionsAfter === 1;
  const group = `GC: ${n} revisions of one tag + ${ctx.sizes.tags} tags`;
  return [
    row({
      group,
      metric: 'cairn gc --grace 0s vs garbage-collect --delete-untagged',
      unit: 's',
      better: 'lower',
      cairn: c.seconds,
      distribution: d.seconds,
      ratioTarget: 0.5,
      extra: { text: 'daemon keeps serving', pass: c.note.includes(' 0 failed') && same },
      note:
        `revisions of ${REPO}: Cairn ${c.revisionsBefore}→${c.revisionsAfter}, Distribution ${d.revisionsBefore}→${d.revisionsAfter}; ` +
        `blob files: Cairn ${c.blobsBefore}→${c.blobsAfter}, Distribution ${d.blobsBefore}→${d.blobsAfter}; Cairn: ${c.note}; Distribution: ${d.note}`,
    }),
    ...usageRows(`${group}: the GC process`, { rss: { cairn: c.gcPeakMiB, distribution: d.gcPeakMiB }, cpu: { cairn: c.gcCpu, distribution: d.gcCpu } }),
    ...usageRows(`${group}: Cairn's daemon while its GC runs`, { rss: { cairn: c.daemonPeakMiB }, cpu: { cairn: c.daemonCpu } }),
  ];
}

async function cairnGc(ctx: Context, s: Server, keep: string): Promise<Outcome> {
  const revisionsBefore = await countRevisions(s);
  const blobsBefore = await countBlobs(s);
  s.resetPeak();
  const cpu0 = s.cpuSeconds();
  let stop = false;
  let ok = 0;
  let failed = 0;
  // The daemon keeps serving: a light, steady load (a manifest GET by tag and a tags/list
  // every 10 ms) runs throughout; a tight loop would only take CPU from the GC on 2 cores.
  const probe = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 10));
      for (const path of [`/v2/${REPO}/manifests/latest`, `/v2/${REPO}/tags/list`]) {
        try {
          const r = await s.client.request('GET', path, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
          if (r.status === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }
  })();
  const prof = ctx.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfDir}`, '--cpu-prof-name=cairn-gc.cpuprofile'] : [];
  const run = await timed(() => runChild(process.execPath, [...prof, CLI, 'gc', '--root', s.root, '--grace', '0s', '--json']));
  stop = true;
  await probe;
  const daemonPeakMiB = s.peakRssMiB();
  const cpu1 = s.cpuSeconds();
  if (run.value.code !== 0) throw new Error(`cairn gc exited ${run.value.code}: ${run.value.stderr}`);
  const report = JSON.parse(run.value.stdout) as { revisionsRemoved: number; blobsRemoved: number; bytesFreed: number };
  await verifyKept(s, keep);
  return {
    seconds: run.seconds,
    gcPeakMiB: run.value.peakMiB,
    gcCpu: run.value.cpu,
    daemonCpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
    revisionsBefore,
    revisionsAfter: await countRevisions(s),
    blobsBefore,
    blobsAfter: await countBlobs(s),
    daemonPeakMiB,
    note: `report: ${report.revisionsRemoved} revisions, ${report.blobsRemoved} blobs, ${(report.bytesFreed / 2 ** 20).toFixed(0)} MiB freed; probe during GC: ${ok} ok, ${failed} failed`,
  };
}

async function distributionGc(ctx: Context, s: Server, keep: string): Promise<Outcome> {
  const revisionsBefore = await countRevisions(s);
  const blobsBefore = await countBlobs(s);
  await s.stop(); // "the registry must be stopped or in read-only mode" during garbage-collect
  const run = await timed(() => runChild(s.binary!, ['garbage-collect', '--delete-untagged', s.config!], false));
  if (run.value.code !== 0) throw new Error(`${s.binary} garbage-collect exited ${run.value.code}: ${run.value.stderr.slice(-2000)}`);
  const revisionsAfter = await countRevisions(s);
  const blobsAfter = await countBlobs(s);
  await s.restart();
  await verifyKept(s, keep);
  ctx.log('  distribution: restarted after its GC; the kept revision still serves');
  return { seconds: run.seconds, gcPeakMiB: run.value.peakMiB, gcCpu: run.value.cpu, revisionsBefore, revisionsAfter, blobsBefore, blobsAfter, note: 'offline (server stopped)' };
}

async function verifyKept(s: Server, digest: string): Promise<void> {
  const r = await s.client.request('GET', `/v2/${REPO}/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  expectStatus(r, `${s.kind}: GET ${REPO}:latest after GC`, 200);
  if (r.headers['docker-content-digest'] !== digest) throw new Error(`${s.kind}: ${REPO}:latest is ${r.headers['docker-content-digest']} after GC, not ${digest}`);
}

/** Runs a command, sampling its peak RSS and CPU time from /proc while it runs (CPU: the last sample, within 20 ms of the end). */
export function runChild(cmd: string, args: string[], keepStdout = true): Promise<{ code: number | null; stdout: string; stderr: string; peakMiB?: number; cpu?: number }> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let cpu: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      if (keepStdout) stdout += d.toString(); // garbage-collect lists every blob it marks: not kept
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const sample = () => {
      peak = Math.max(peak, peakRssOf(child.pid!) ?? 0);
      cpu = cpuSecondsOf(child.pid!) ?? cpu;
    };
    const timer = setInterval(sample, 20);
    child.once('error', fail);
    child.once('exit', (code) => {
      clearInterval(timer);
      ok({ code, stdout, stderr, peakMiB: peak || undefined, cpu });
    });
  });
}

async function countRevisions(s: Server): Promise<number> {
  const dir =
    s.kind === 'cairn'
      ? join(s.root, 'repositories', REPO, '_revisions', 'sha256')
      : join(s.root, 'docker/registry/v2/repositories', REPO, '_manifests/revisions/sha256');
  if (s.kind === 'cairn') return (await readdir(dir).catch((): string[] => [])).length;
  // Distribution keeps a folder per revision with a `link` file in it; the GC removes the link.
  let n = 0;
  for (const hex of await readdir(dir).catch((): string[] => [])) if ((await readdir(join(dir, hex)).catch((): string[] => [])).includes('link')) n++;
  return n;
}

async function countBlobs(s: Server): Promise<number> {
  const dir = s.kind === 'cairn' ? join(s.root, 'blobs', 'sha256') : join(s.root, 'docker/registry/v2/blobs/sha256');
  let n = 0;
  for (const prefix of await readdir(dir).catch((): string[] => [])) {
    for (const name of await readdir(join(dir, prefix)).catch((): string[] => [])) {
      if (s.kind === 'cairn') n++;
      else if ((await readdir(join(dir, prefix, name)).catch((): string[] => [])).includes('data')) n++;
    }
  }
  return n;
}
