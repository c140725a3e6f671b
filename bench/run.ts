// `npm run bench [-- --quick] [-- --json FILE]`: Cairn and CNCF Distribution side
// by side in one run. Measures the machine's ceilings, then makes one pass per
// Distribution version found (2.8, and 3 when built): Cairn and that peer over fresh
// temp roots on free ports, every scenario against both (alternating which goes
// first). Prints a table per pass, optionally writes them as JSON. Installs nothing.
import { writeFile, rm } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import yargs from 'yargs';
import { describeRule, detectDurability } from '../shared/durability.js';
import { hideBin } from 'yargs/helpers';
import { bigBlob, sameBlob } from './blobs.js';
import { type Ceilings, measureCeilings } from './ceilings.js';
import { gcScenario } from './gc.js';
import { manifestGets } from './manifests.js';
import { type Context, type Row, row, sizes } from './scenario.js';
import { findPeers, type Peer, startCairn, startDistribution, tempBase } from './servers.js';
import { signinFlood } from './signin.js';
import { pullThroughScenario } from './pullthrough.js';
import { pipelineScenario } from './pipeline.js';
import { type Meta, renderTable } from './table.js';
import { PAGE, smallImages, tagsScenario } from './tags.js';

const SCENARIOS: Record<string, (ctx: Context) => Promise<Row[]>> = {
  blob: bigBlob,
  manifest: manifestGets,
  small: smallImages,
  tags: tagsScenario,
  'same-blob': sameBlob,
  signin: signinFlood, // servers of its own, with auth on
  pipeline: pipelineScenario,
  'pull-through': pullThroughScenario, // servers of its own: an upstream, the cache, Distribution as a proxy
  gc: gcScenario, // last: it collects what the others pushed
};

// `--scale` is the scale bench (bench/scale.ts), with its own options and store: run apart.
if (process.argv.includes('--scale')) {
  process.argv.splice(process.argv.indexOf('--scale'), 1);
  await import('./scale.js');
  process.exit();
}

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench --')
  .option('quick', { type: 'boolean', default: false, describe: 'shrink every scenario (64 MiB blob, 2 s loads, 500 tags) for a smoke run' })
  .option('json', { type: 'string', describe: 'also write the results as JSON to this file' })
  .option('only', { type: 'array', string: true, choices: Object.keys(SCENARIOS), describe: 'run only these scenarios' })
  .option('cpu-prof', { type: 'string', describe: 'start Cairn under node --cpu-prof, writing profiles to this directory' })
  .option('node-arg', { type: 'array', string: true, default: [], describe: 'a flag for the node that runs Cairn, e.g. --node-arg=--max-semi-space-size=8 (repeatable)' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the temp roots (their path is printed)' })
  .option('peer', { type: 'array', string: true, choices: ['2.8', '3'], describe: 'compare with these Distribution versions only (default: every one found)' })
  .option('scale', { type: 'boolean', describe: 'run the scale bench instead (npm run bench -- --scale --help)' })
  .strict()
  .help()
  .parseAsync();

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const peers = findPeers(log).filter((p) => !argv.peer || argv.peer.includes(p.label));
const started = Date.now();
const loadavgStart = loadavg();
const s = sizes(argv.quick);
const base = await tempBase();
const filesystem = `Cairn's --fsync auto here: ${describeRule(detectDurability(base))}`;
log(`bench: temp roots under ${base}; load average ${loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);

log('ceilings…');
const walkPages = Math.ceil(s.tags / PAGE);
const ceilings = await measureCeilings(base, s.blobBytes, 2, walkPages);
log(`  sha256 ${ceilings.sha256MiBs.toFixed(0)}, write+fsync ${ceilings.writeFsyncMiBs.toFixed(0)} (new files ${ceilings.writeFsyncNewMiBs.toFixed(0)}, O_DIRECT ${ceilings.writeDirectNewMiBs?.toFixed(0) ?? '—'}), loopback discard ${ceilings.loopbackDiscardMiBs.toFixed(0)}, loopback file ${ceilings.loopbackFileMiBs.toFixed(0)} (client hashing ${ceilings.loopbackFileHashedMiBs.toFixed(0)}) MiB/s; a walk of ${walkPages} pages ${ceilings.walkFloorMs.toFixed(1)} ms`);

// One pass per peer, each with a fresh Cairn over a fresh root: the scenarios leave
// state behind (tags pushed, a GC run), and each pass must start from the same place.
const passes: { peer: Peer; rows: Row[] }[] = [];
let ceilingsEnd: Ceilings = ceilings;
try {
  for (const peer of peers) {
    log(`— against Distribution ${peer.label} (${peer.version})`);
    const cairn = await startCairn(base, { cpuProfDir: argv['cpu-prof'], nodeArgs: argv['node-arg'], rootName: `cairn-root-${peer.label}` });
    const distribution = await startDistribution(base, peer, { rootName: `distribution-root-${peer.label}` });
    const rows: Row[] = [];
    try {
      const ctx: Context = { cairn, distribution, peer, sizes: s, ceilings, log, base, cpuProfDir: argv['cpu-prof'] };
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        if (argv.only && !argv.only.includes(name)) continue;
        log(`${name}…`);
        try {
          rows.push(...(await scenario(ctx)));
        } catch (err) {
          // One broken scenario must not cost the others' figures: record it as a failed row.
          log(`  ${name} failed: ${(err as Error).stack ?? String(err)}`);
          rows.push(row({ group: name, metric: 'scenario failed', unit: '—', better: 'higher', cairn: undefined, distribution: undefined, extra: { text: 'runs', pass: false }, note: String((err as Error).message ?? err).slice(0, 300) }));
        }
      }
    } finally {
      cairn.client.close();
      distribution.client.close();
      await Promise.all([cairn.stop(), distribution.stop()]);
    }
    passes.push({ peer, rows });
  }
  // Again at the end: this machine's disk and CPU share drift during a run, and the
  // two measurements bracket what the scenarios had.
  log('ceilings again…');
  ceilingsEnd = await measureCeilings(base, s.blobBytes, 2, walkPages);
} finally {
  if (!argv.keep) await rm(base, { recursive: true, force: true });
}

const cpu = cpus();
const meta = (peer: Peer): Meta => ({
  date: new Date().toISOString(),
  command: `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`,
  machine: `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, shared with the client and other work`,
  filesystem,
  node: process.version,
  distribution: peer.version,
  loadavgStart,
  loadavgEnd: loadavg(),
  quick: argv.quick,
  seconds: (Date.now() - started) / 1000,
});
process.stdout.write(`${passes.map((p) => renderTable(meta(p.peer), ceilings, ceilingsEnd, p.rows)).join('\n\n')}\n`);
if (argv.json) {
  const json = { ceilings, ceilingsEnd, passes: passes.map((p) => ({ meta: meta(p.peer), peer: p.peer, rows: p.rows })) };
  await writeFile(argv.json, `${JSON.stringify(json, null, 2)}\n`);
}
if (passes.some((p) => p.rows.some((r) => r.metric === 'scenario failed'))) process.exitCode = 1;
