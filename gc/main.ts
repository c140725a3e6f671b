// `cairn gc`: the command line. Options, then printing: the plan before the sweep,
// a progress bar on a terminal (none when piped or with --json), the report after.
// Exit codes: 0 done, 1 error, 2 bad keep-list, 3 another gc holds the lock.
import type cliProgress from 'cli-progress';
import ms from 'ms';
import prettyBytes from 'pretty-bytes';
import type { Argv } from 'yargs';
import { parseDuration, rootArg } from '../shared/options.js';
import { KeepListError } from './keeplist.js';
import { LockBusyError } from '../store/gclock.js';
import type { Plan, PlanItem } from './plan.js';
import { type Report, writeReportJson } from './report.js';
import { runGc } from './run.js';

export interface GcArgs {
  root: string;
  keep: string[];
  keepHistory: number;
  keepWithin?: number;
  unused?: number;
  grace: number;
  uploadTtl: number;
  dryRun: boolean;
  json: boolean;
}

export function gcCommand(yargs: Argv): Argv<GcArgs> {
  return yargs
    .usage('$0 gc --root DIR [--keep FILE|-]... [options]\n\nRemove what nothing references. Safe while the daemon serves.')
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root to collect (the daemon may be serving it)' })
    .option('keep', {
      // nargs 1, not `array: true`: yargs otherwise reads "-" as a positional. Repeats collect into an array.
      type: 'string',
      nargs: 1,
      coerce: (v: string | string[] | undefined) => (v === undefined ? [] : ([] as string[]).concat(v).map(String)),
      describe: 'keep-list file, "-" for standard input; repeatable. Lines: name@sha256:…, name:tag@sha256:…, name:tag; # comments',
    })
    .option('keep-history', {
      type: 'number',
      default: 0,
      describe: "also keep the newest N revisions of every tag's history (the current one is always kept)",
    })
    .option('keep-within', {
      type: 'string',
      coerce: (v: string | undefined) => (v === undefined ? undefined : duration(v, 'keep-within')),
      describe: 'also keep every revision a tag moved to within this long (e.g. 30d)',
    })
    .option('unused', {
      type: 'string',
      coerce: (v: string | undefined) => (v === undefined ? undefined : duration(v, 'unused')),
      describe: 'in pull-through repositories, also remove revisions (and tags at them) not pulled for this long (e.g. 30d); a pull fetches them again',
    })
    .option('grace', {
      type: 'string',
      default: '1h',
      coerce: (v: string) => duration(v, 'grace'),
      describe: 'never remove what was created or used within this long: pushes in flight rely on it',
    })
    .option('upload-ttl', {
      type: 'string',
      default: '24h',
      coerce: (v: string) => duration(v, 'upload-ttl'),
      describe: 'remove uploads with no activity for this long',
    })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and the report; remove nothing' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON report on stdout (no plan listing, no progress bar)' })
    .check((argv) => {
      if (!Number.isSafeInteger(argv['keep-history']) || argv['keep-history'] < 0) throw new Error('--keep-history must be a whole number ≥ 0');
      return true;
    })
    .example('$0 gc --root ./data --keep deployed.txt --dry-run', 'what would go')
    .example('$0 gc --root ./data --keep - --json < keep.txt', 'keep-list on stdin') as unknown as Argv<GcArgs>;
}

/** Durations like 90s, 1h, 30d (the `ms` package); a bare number is milliseconds. */
function duration(v: string, option: string): number {
  const n = parseDuration(String(v));
  if (n === undefined) throw new Error(`--${option}: not a duration: ${JSON.stringify(v)} (try 90s, 1h, 30d)`);
  return n;
}

/** The yargs handler: runs, prints, sets the exit code. */
export async function gc(argv: GcArgs): Promise<void> {
  const out = process.stdout;
  const human = !argv.json;
  // cli-progress is loaded only for a terminal: a gc from cron need not pay for it.
  const bar = human && process.stderr.isTTY ? new Progress((await import('cli-progress')).default) : undefined;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const report = await runGc(
      {
        root: argv.root,
        keep: argv.keep ?? [],
        keepHistory: argv.keepHistory,
        keepWithinMs: argv.keepWithin,
        graceMs: argv.grace,
        uploadTtlMs: argv.uploadTtl,
        unusedMs: argv.unused,
        dryRun: argv.dryRun,
        signal: controller.signal,
      },
      {
        warn: (m) => {
          bar?.pause();
          process.stderr.write(`warning: ${m}\n`);
        },
        onPlan: (plan) => {
          bar?.stop();
          if (human) out.write(formatPlan(plan, argv.dryRun));
        },
        onProgress: (phase, done, total) => bar?.update(phase, done, total),
      },
    );
    bar?.stop();
    if (human) out.write(formatReport(report));
    else await writeReportJson(report, out);
    if (report.interrupted) process.exitCode = 130;
  } catch (err) {
    bar?.stop();
    process.stderr.write(`cairn gc: ${(err as Error).message}\n`);
    process.exitCode = err instanceof KeepListError ? 2 : err instanceof LockBusyError ? 3 : 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const LABELS: Record<PlanItem['kind'], string> = {
  tag: 'attached tag',
  'history-entry': 'history entry',
  revision: 'revision',
  'referrer-link': 'referrer link',
  'layer-link': 'layer link',
  blob: 'blob',
  signatures: 'signatures',
  upload: 'upload',
};

export function formatPlan(plan: Plan, dryRun: boolean): string {
  const lines = [`${dryRun ? 'plan (dry run, nothing is removed)' : 'plan'}: marked at ${plan.markedAt}; keeping ${plan.kept.revisions} revision(s), ${plan.kept.blobs} blob(s)`];
  for (const i of plan.items) {
    const size = i.bytes ? ` (${prettyBytes(i.bytes)})` : '';
    lines.push(`  - ${LABELS[i.kind].padEnd(14)} ${i.ref}${size}: ${i.reason}`);
  }
  if (!plan.items.length) lines.push('  nothing to remove');
  return `${lines.join('\n')}\n`;
}

export function formatReport(r: Report): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const parts = [
    `${r.revisionsRemoved} revision(s)`,
    `${r.blobsRemoved} blob(s)`,
    `${r.tagsRemoved} attached tag(s)`,
    `${r.historyEntriesRemoved} history entr${r.historyEntriesRemoved === 1 ? 'y' : 'ies'}`,
    `${r.layerLinksRemoved} layer link(s)`,
    `${r.referrerLinksRemoved} referrer link(s)`,
    `${r.signaturesRemoved} signature folder(s)`,
    `${r.uploadsRemoved} upload(s)`,
  ];
  const lines = [`${verb} ${parts.join(', ')}; ${r.dryRun ? 'would free' : 'freed'} ${prettyBytes(r.bytesFreed)} in ${ms(r.durationMs)}`];
  for (const s of r.spared) lines.push(`  spared ${LABELS[s.kind]} ${s.ref}: ${s.why}`);
  if (r.interrupted) lines.push('interrupted: the rest of the plan was not carried out (the tree is valid; run gc again)');
  return `${lines.join('\n')}\n`;
}

/** One bar per phase, on stderr, only on a terminal. */
class Progress {
  private readonly lib: typeof cliProgress;
  private bar: cliProgress.SingleBar | undefined;
  private phase: string | undefined;

  constructor(lib: typeof cliProgress) {
    this.lib = lib;
  }

  update(phase: string, done: number, total: number): void {
    if (phase !== this.phase) {
      this.stop();
      this.phase = phase;
      this.bar = new this.lib.SingleBar(
        { format: `${phase === 'mark' ? 'marking ' : 'sweeping'} [{bar}] {value}/{total}`, hideCursor: true, clearOnComplete: true },
        this.lib.Presets.shades_classic,
      );
      this.bar.start(total, 0);
    }
    this.bar?.update(done);
  }

  pause(): void {
    this.stop();
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.phase = undefined;
  }
}
