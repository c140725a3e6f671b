// One GC run, start to end: keep-lists, lock, mark, plan, sweep, report. It prints
// nothing itself; main.ts shows the plan, the progress and the report through hooks.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { Paths } from '../shared/paths.js';
import { takeSnapshot } from './snapshot.js';
import { readKeepLists } from './keeplist.js';
import { acquireLock } from '../store/gclock.js';
import { type ItemKind, type Plan, type PlanItem, freshSince, makePlan } from './plan.js';
import { recordGc } from './record.js';
import type { Report } from './report.js';
import { sweep } from './sweep.js';
import { Trash, recoverTrash } from './trash.js';
import { pathExistsSync } from '../shared/syncfs.js';
import { sharedFilesystem } from '../shared/durability.js';

/** The shortest grace on a shared filesystem: past every client's attribute cache (NFS's default tops out at 60 s). */
export const SHARED_GRACE_MS = 2 * 60 * 1000;
import { Repositories } from '../store/repository.js';

/**
 * Rewrites the log of every tag whose history entries the sweep removed, under the
 * tag's lock, so that logs stay the size of their histories (store/taglog.ts). A
 * failure costs only speed: the log is an index.
 */
async function compactTagLogs(paths: Paths, removed: PlanItem[], warn: (m: string) => void): Promise<void> {
  const tags = new Set(removed.filter((i) => i.kind === 'history-entry').map((i) => JSON.stringify([i.repository, i.tag])));
  const repos = new Repositories(paths);
  for (const key of tags) {
    const [name, tag] = JSON.parse(key) as [string, string];
    await repos.withTagLock(name, tag, () => repos.rebuildTagLog(name, tag)).catch((err: Error) =>
      warn(`${name}:${tag}: its log was not compacted (${err.message}); pages of its history skip the removed entries`),
    );
  }
}

export interface GcOptions {
  root: string;
  /** Keep-list files; `-` is standard input. */
  keep: string[];
  keepHistory: number;
  keepWithinMs?: number;
  graceMs: number;
  uploadTtlMs: number;
  /** Pull-through repositories: what was not served for this long goes. */
  unusedMs?: number;
  dryRun: boolean;
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
}

export interface GcHooks {
  warn?(message: string): void;
  /** The plan, before anything is removed (awaited: tests use it to act between mark and sweep). */
  onPlan?(plan: Plan): void | Promise<void>;
  onProgress?(phase: 'mark' | 'sweep', done: number, total: number): void;
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
  // On a shared filesystem another host's move of a tag reaches this client only when
  // its attribute cache lets it (seconds, up to a minute on NFS): whatever moved within
  // that time is protected by the grace period alone, so the grace is never shorter.
  const shared = sharedFilesystem(root);
  if (shared && opts.graceMs < SHARED_GRACE_MS) {
    warn(`the root is on ${shared}, whose clients may see another host's change late: --grace raised from ${opts.graceMs / 1000}s to ${SHARED_GRACE_MS / 1000}s`);
    opts = { ...opts, graceMs: SHARED_GRACE_MS };
  }
  // blobs/ without repositories/ is some other tree (an OCI image layout has blobs/
  // too), in which every blob would look unreferenced.
  if (pathExistsSync(paths.blobsDir()) && !pathExistsSync(paths.repositoriesDir())) throw new Error(`${root} has blobs/ but no repositories/: not a Cairn storage root; nothing was collected`);

  // Every keep-list is read and checked before the lock, the mark or any removal.
  const keep = await readKeepLists(opts.keep, opts.stdin);

  // The mark begins before the lock appears: whatever is written once a GC holds
  // the lock is fresh to it (the grace of docs/gc.md, counted from here).
  const markMs = Date.now();
  // A dry run removes nothing, so it needs no lock and may run beside a real GC.
  const lock = opts.dryRun ? undefined : await acquireLock(paths, warn);
  try {
    if (!opts.dryRun) {
      const restored = await recoverTrash(paths);
      if (restored) warn(`put back ${restored} item(s) an interrupted gc had moved aside`);
    }
    const inventory = await takeSnapshot(paths, (done, total) => hooks.onProgress?.('mark', done, total));
    const plan = makePlan(inventory, keep, opts, markMs);
    plan.warnings.forEach(warn);
    await hooks.onPlan?.(plan);

    let removed = plan.items;
    let spared: Report['spared'] = [];
    let interrupted = false;
    if (!opts.dryRun) {
      const trash = new Trash(paths);
      const result = await sweep(paths, trash, plan, inventory, {
        freshSinceMs: freshSince(markMs, opts.graceMs),
        signal: opts.signal,
        onProgress: (done, total) => hooks.onProgress?.('sweep', done, total),
      });
      await trash.close();
      if (trash.deletedInPlace) warn(`the disk was full: ${trash.deletedInPlace} item(s) were deleted in place, not moved aside first`);
      ({ removed, spared, interrupted } = result);
      await compactTagLogs(paths, removed, warn);
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
      tagsRemoved: count('tag'),
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
    if (!opts.dryRun) {
      // Figures for /metrics, events for --notify endpoints. What was removed is
      // removed: a failure to record it (a disk still full) is a warning, not a failed run.
      await recordGc(paths, report).catch((err) => warn(`could not record this run: ${(err as Error).message}`));
    }
    return report;
  } finally {
    await lock?.release();
  }
}
