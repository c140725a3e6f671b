// `cairn fsck`: the command line. Checks a root, prints the findings (a progress
// bar on a terminal while blobs are hashed), and with --repair fixes what it can.
// Exit codes: 0 clean (or every finding repaired), 1 findings remain, 2 error,
// 3 a gc holds the lock (--repair only: it never runs beside a gc).
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import prettyBytes from 'pretty-bytes';
import type { Argv } from 'yargs';
import { acquireLock, type Lock, LockBusyError } from '../store/gclock.js';
import { Tree } from '../shared/tree.js';
import { rootArg } from '../shared/options.js';
import { Paths } from '../shared/paths.js';
import { type CheckResult, checkTree } from './check.js';
import { type RepairOutcome, repairTree } from './repair.js';

export interface FsckArgs {
  root: string;
  repair: boolean;
  json: boolean;
}

export function fsckCommand(yargs: Argv): Argv<FsckArgs> {
  return yargs
    .usage('$0 fsck --root DIR [--repair] [--json]\n\nCheck every blob digest and every link of a storage root.')
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root to check' })
    .option('repair', {
      type: 'boolean',
      default: false,
      describe: 'move corrupt blobs to quarantine/, remove dangling links, re-create missing ones (takes the gc lock)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON report on stdout' })
    .example('$0 fsck --root ./data', 'check, change nothing')
    .example('$0 fsck --root ./data --repair', 'check and fix') as unknown as Argv<FsckArgs>;
}

export interface FsckReport extends CheckResult {
  clean: boolean;
  repaired?: { kind: string; path: string; done: boolean; note: string }[];
  durationMs: number;
}

export async function runFsck(opts: { root: string; repair: boolean; onProgress?: (done: number, total: number) => void; warn?: (m: string) => void }): Promise<FsckReport> {
  const started = Date.now();
  const paths = new Paths(resolve(opts.root));
  let lock: Lock | undefined;
  // A gc moves files aside and back; checking (let alone repairing) mid-sweep would see them missing.
  if (opts.repair) lock = await acquireLock(paths, opts.warn ?? (() => undefined));
  try {
    const result = await checkTree(new Tree(paths), { onProgress: opts.onProgress });
    let outcomes: RepairOutcome[] | undefined;
    if (opts.repair && result.findings.length) outcomes = await repairTree(paths, result.findings);
    const clean = outcomes ? outcomes.every((o) => o.done) : result.findings.length === 0;
    return {
      ...result,
      clean,
      repaired: outcomes?.map((o) => ({ kind: o.finding.kind, path: o.finding.path, done: o.done, note: o.note })),
      durationMs: Date.now() - started,
    };
  } finally {
    await lock?.release();
  }
}

export async function fsck(argv: FsckArgs): Promise<void> {
  const bar = !argv.json && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'hashing blobs [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let started = false;
  try {
    const report = await runFsck({
      root: argv.root,
      repair: argv.repair,
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
      onProgress: (done, total) => {
        if (!bar) return;
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
    });
    bar?.stop();
    process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    process.exitCode = report.clean ? 0 : 1;
  } catch (err) {
    bar?.stop();
    process.stderr.write(`cairn fsck: ${(err as Error).message}\n`);
    process.exitCode = err instanceof LockBusyError ? 3 : 2;
  }
}

export function formatReport(r: FsckReport): string {
  const c = r.counts;
  const lines = [
    `checked ${c.blobs} blob(s) (${prettyBytes(c.bytes)}), ${c.repositories} repositor${c.repositories === 1 ? 'y' : 'ies'}, ${c.revisions} revision(s), ${c.tags} tag(s), ${c.signatures} signature(s) in ${r.durationMs}ms`,
  ];
  const done = new Map((r.repaired ?? []).map((o) => [`${o.kind} ${o.path}`, o]));
  for (const f of r.findings) {
    const o = done.get(`${f.kind} ${f.path}`);
    const suffix = o ? ` [${o.done ? 'repaired' : 'not repaired'}: ${o.note}]` : f.repair ? '' : ' [needs a person]';
    lines.push(`  ${f.kind.padEnd(26)} ${f.path}: ${f.message}${suffix}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (!r.findings.length) lines.push('clean');
  else if (!r.repaired) lines.push(`${r.findings.length} finding(s); run with --repair to fix what can be fixed`);
  else lines.push(r.clean ? `repaired ${r.findings.length} finding(s)` : 'some findings remain');
  return `${lines.join('\n')}\n`;
}
