// `npm run bench:shared`: Cairn over a GlusterFS mount (Gluster's defaults, one
// brick on this machine, as test/gluster.test.ts sets it up) beside Cairn over the
// local disk, in one run: manifest PUTs to one tag, a big blob pushed and pulled
// back (hashed), and a GC over the revisions the PUTs left. Prints each with its
// ratio to local. Needs root and FUSE; installs nothing.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { noGluster, startGluster } from '../test/helpers/gluster.js';
import { MiB, expectStatus, median, timed } from './http.js';
import { blob, image, pullVerified, pushMonolithic, putManifest } from './images.js';
import { CLI, type Server, startCairn, tempBase } from './servers.js';

const argv = await yargs(hideBin(process.argv))
  .option('quick', { type: 'boolean', default: false, describe: '64 MiB blob, 100 PUTs' })
  .option('serve-arg', { type: 'array', string: true, default: [], describe: 'a `cairn serve` flag for both daemons, e.g. --serve-arg=--fsync=journal (repeatable)' })
  .strict()
  .parseAsync();
const why = noGluster();
if (why) throw new Error(`bench:shared cannot run here: ${why}`);
const puts = argv.quick ? 100 : 500;
const blobBytes = (argv.quick ? 64 : 256) * MiB;

interface Figures {
  putMedianMs: number;
  pushMiBs: number;
  pullMiBs: number;
  gcSeconds: number;
}

async function measure(server: Server): Promise<Figures> {
  const layer = blob(Buffer.alloc(1024, 3));
  expectStatus(await pushMonolithic(server.client, 'b/app', layer), 'push layer', 201);
  const images = Array.from({ length: puts }, (_, i) => image([layer], `shared-${i}`));
  const putMs: number[] = [];
  for (const img of images) {
    expectStatus(await pushMonolithic(server.client, 'b/app', img.blobs[1]!), 'push config', 201);
    const { seconds } = await timed(() => putManifest(server.client, 'b/app', 'latest', img.manifest));
    putMs.push(seconds * 1000);
  }
  const big = blob(Buffer.alloc(blobBytes, 9).fill(Date.now() % 251, 0, 8));
  const push = await timed(async () => expectStatus(await pushMonolithic(server.client, 'b/big', big), 'push big', 201));
  const pull = await timed(() => pullVerified(server.client, 'b/big', big.digest));
  const gc = await timed(
    () =>
      new Promise<void>((ok, fail) => {
        const child = spawn(process.execPath, [CLI, 'gc', '--root', server.root, '--grace', '0s', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`cairn gc exited ${code}: ${stderr}`))));
      }),
  );
  return { putMedianMs: median(putMs), pushMiBs: blobBytes / MiB / push.seconds, pullMiBs: blobBytes / MiB / pull.seconds, gcSeconds: gc.seconds };
}

const base = await tempBase();
const g = await startGluster();
const results: Record<'local' | 'gluster', Figures> = {} as Record<'local' | 'gluster', Figures>;
try {
  for (const [label, dir] of [['local', base], ['gluster', g.mounts[0]]] as const) {
    await mkdir(join(dir, 'shared-bench'), { recursive: true });
    const server = await startCairn(join(dir, 'shared-bench'), { serveArgs: ['--watch', 'poll', ...argv['serve-arg']] });
    try {
      results[label] = await measure(server);
      process.stderr.write(`${label}: ${JSON.stringify(results[label])}\n`);
    } finally {
      server.client.close();
      await server.stop();
    }
  }
} finally {
  await g.stop();
  await rm(base, { recursive: true, force: true });
}

const l = results.local;
const s = results.gluster;
const rows: [string, number, number, string, boolean][] = [
  [`manifest PUT to one tag, median (ms, ${puts} PUTs)`, l.putMedianMs, s.putMedianMs, '≤ 3× local', s.putMedianMs <= 3 * l.putMedianMs],
  [`push of a ${blobBytes / MiB} MiB blob (MiB/s)`, l.pushMiBs, s.pushMiBs, 'time ≤ 1.5× local', l.pushMiBs / s.pushMiBs <= 1.5],
  [`pull of it, hashed (MiB/s)`, l.pullMiBs, s.pullMiBs, 'time ≤ 1.5× local', l.pullMiBs / s.pullMiBs <= 1.5],
  [`cairn gc over ${puts} revisions (s)`, l.gcSeconds, s.gcSeconds, '—', true],
];
process.stdout.write(`Cairn over GlusterFS (defaults, one brick, FUSE) beside the local disk — ${new Date().toISOString()}${argv.quick ? ' (--quick)' : ''}\n\n`);
process.stdout.write('| metric | local | gluster | gluster/local | target | result |\n| --- | ---: | ---: | ---: | --- | --- |\n');
for (const [metric, local, gluster, target, pass] of rows) {
  process.stdout.write(`| ${metric} | ${local.toFixed(1)} | ${gluster.toFixed(1)} | ${(gluster / local).toFixed(2)}× | ${target} | ${target === '—' ? '—' : pass ? 'pass' : 'MISS'} |\n`);
}
