// One GC run, start to end: keep-lists, lock, mark, plan, sweep, report, where the
// blobs no revision references are swept between the two halves of the mark. It prints
// nothing itself; main.ts shows the plan, the progress and the report through hooks.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Paths } from '../shared/paths.js';
import { takeContent, takeInventory } from './inventory.js';
import { readKeepLists } from './keeplist.js';
import { acquireLock } from './lock.js';
import { type ItemKind, type Plan, type PlanItem, freshSince, makePlan, unreferencedItems } from './plan.js';
import { recordGc } from './record.js';
import { sweep } from './sweep.js';
import { Trash, recoverTrash } from './trash.js';

export interface GcOptions {
  root: string;
  /** Keep-list files; `-` is standard input. */
  keep: string[];
  keepHistory: number;
  keepWithinMs?: number;
  graceMs: number;
  uploadTtlMs: number;
  dryRun: boolean;
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
}

export interface GcHooks {
  warn?(message: string): void;
  /**
   * Blobs no revision references and their layer links, before they are removed
   * (awaited: tests use it to act between their mark and their sweep).
   */
  onUnreferenced?(items: PlanItem[]): void | Promise<void>;
  /**
   * The whole plan, before anything but its first `unreferenced` items is removed
   * (awaited: tests use it to act between mark and sweep).
   */
  onPlan?(plan: Plan): void | Promise<void>;
  onProgress?(phase: 'mark' | 'sweep', done: number, total: number): void;
}

export interface Report {
  root: string;
  dryRun: boolean;
  markedAt: string;
  durationMs: number;
  /** Bytes of removed blobs, signatures and uploads (with --dry-run: that would be). */
  bytesFreed: number;
  revisionsRemoved: number;
  blobsRemoved: number;
  historyEntriesRemoved: number;
  referrerLinksRemoved: number;
  layerLinksRemoved: number;
  signaturesRemoved: number;
  uploadsRemoved: number;
  kept: { revisions: number; blobs: number };
  /** What went (with --dry-run: what would go), in sweep order. */
  removed: PlanItem[];
  /** What the plan listed but the sweep left, because the daemon used it meanwhile. */
  spared: (PlanItem & { why: string })[];
  interrupted: boolean;
  warnings: string[];
}

export async function runGc(opts: GcOptions, hooks: GcHooks = {}): Promise<Report> {
  const started = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    hooks.warn?.(m);
  };
  const root = resolve(opts.root);
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`no storage root at ${root}`);
  const paths = new Paths(root);

  // Every keep-list is read and checked before the lock, the mark or any removal.
  const keep = await readKeepLists(opts.keep, opts.stdin);

  // The mark begins before the lock appears: whatever is written once a GC holds
  // the lock is fresh to it (SPEC §4 grace, counted from here).
  const markMs = Date.now();
  // A dry run removes nothing, so it needs no lock and may run beside a real GC.
  const lock = opts.dryRun ? undefined : await acquireLock(paths, warn);
  try {
    if (!opts.dryRun) {
      const restored = await recoverTrash(paths);
      if (restored) warn(`put back ${restored} item(s) an interrupted gc had moved aside`);
    }
    // Blobs no revision references go while the mark reads on: their deletion is the
    // slowest part of a GC (3 GB on the bench's tree: 0.4-0.6 s of discards, which
    // the rest of the mark and sweep now overlap).
    const content = await takeContent(paths);
    const first = unreferencedItems(content, opts, markMs);
    await hooks.onUnreferenced?.(first);
    const trash = opts.dryRun ? undefined : new Trash(paths);
    const sweepOpts = { freshSinceMs: freshSince(markMs, opts.graceMs), signal: opts.signal };
    const early = trash ? await sweep(paths, trash, first, content, new Set(), sweepOpts) : undefined;

    const inventory = await takeInventory(paths, content, (done, total) => hooks.onProgress?.('mark', done, total));
    const plan = makePlan(inventory, keep, opts, markMs);
    // The same rule over the same content: the plan begins with what went above.
    assert.equal(plan.unreferenced, first.length, 'the plan begins with the unreferenced blobs');
    plan.warnings.forEach(warn);
    await hooks.onPlan?.(plan);

    let removed = plan.items;
    let spared: Report['spared'] = [];
    let interrupted = false;
    if (trash && early) {
      const rest = plan.items.slice(plan.unreferenced);
      const doomed = new Set(rest.filter((i) => i.kind === 'revision').map((i) => `${i.repository}@${i.digest}`));
      const late = early.interrupted
        ? { removed: [], spared: [], interrupted: true }
        : await sweep(paths, trash, rest, content, doomed, { ...sweepOpts, onProgress: (done, total) => hooks.onProgress?.('sweep', done, total) });
      await trash.close();
      removed = [...early.removed, ...late.removed];
      spared = [...early.spared, ...late.spared];
      interrupted = late.interrupted;
    }
    const count = (kind: ItemKind) => removed.filter((i) => i.kind === kind).length;
    const report: Report = {
      root,
      dryRun: opts.dryRun,
      markedAt: plan.markedAt,
      durationMs: Math.round(performance.now() - started),
      bytesFreed: removed.reduce((n, i) => n + i.bytes, 0),
      revisionsRemoved: count('revision'),
      blobsRemoved: count('blob'),
      historyEntriesRemoved: count('history-entry'),
      referrerLinksRemoved: count('referrer-link'),
      layerLinksRemoved: count('layer-link'),
      signaturesRemoved: count('signatures'),
      uploadsRemoved: count('upload'),
      kept: plan.kept,
      removed,
      spared,
      interrupted,
      warnings,
    };
    if (!opts.dryRun) await recordGc(paths, report); // figures for /metrics, events for --notify endpoints
    return report;
  } finally {
    await lock?.release();
  }
}
