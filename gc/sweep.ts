// Carrying out a plan, in an order that never leaves a reference to something
// missing: attached tags whose manifest goes, tag-history entries, then revision links, then referrer links (what
// points at revisions), then layer links, then blobs (what links point at), then
// orphaned signatures and stale uploads. A crash between any two steps leaves a
// valid tree that the next run finishes. Blobs no revision referenced at the mark
// (uploaded, never put in a manifest), with their layer links, go before all that
// (Plan.unreferenced): nothing the sweep may spare can need them, and a big one is
// the slowest thing to delete, so its deletion overlaps the rest of the sweep.
//
// Every file call here is sync (see shared/syncfs.ts), and not only for speed: the
// deletions run on the thread pool, and an async call queues behind them (the
// rescan below waited 0.35-0.4 s for those 3 GB of discards when it was async).
//
// Safe against a daemon serving pushes meanwhile:
//   - every item is removed through Trash.retire: moved aside, then its mtime
//     re-read; the daemon touches what a push relies on, so a touch before the move
//     puts the item back, and a touch after it fails and the push writes anew or is
//     refused (see trash.ts);
//   - before layer links and blobs go, the revisions linked now are listed again:
//     any that the mark did not keep (pushed since, or spared above) protect their
//     blobs and layer links, whatever the mtimes say;
//   - a referrer link goes only if its revision is still unlinked after the move.
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { listDigestsSync, listTagsSync, walkNamesSync } from '../shared/tree.js';
import type { Paths } from '../shared/paths.js';
import { digestString, parseDigest } from '../shared/reference.js';
import { Pacer, readTextSyncOrUndefined, statSyncOrUndefined, treeStatsSync } from '../shared/syncfs.js';
import { type Snapshot, readManifest } from './snapshot.js';
import type { Plan, PlanItem } from './plan.js';
import type { Trash } from './trash.js';

export interface SweepOptions {
  /** An mtime at or after this is fresh: see freshSince in plan.ts. */
  freshSinceMs: number;
  onProgress?: (done: number, total: number) => void;
  /** Stops between two items (SIGINT): what is left stays, the tree stays valid. */
  signal?: AbortSignal;
}

export interface SweepResult {
  removed: PlanItem[];
  /** Items the plan listed that turned out to be in use (or were already gone), with why. */
  spared: (PlanItem & { why: string })[];
  interrupted: boolean;
}

export async function sweep(paths: Paths, trash: Trash, plan: Plan, inv: Snapshot, opts: SweepOptions): Promise<SweepResult> {
  const result: SweepResult = { removed: [], spared: [], interrupted: false };
  const doomed = new Set(plan.items.filter((i) => i.kind === 'revision').map((i) => `${i.repository}@${i.digest}`));
  let done = 0;
  // One item at a time, with sync file calls (see shared/syncfs.ts); the pacer lets
  // SIGINT, the progress bar and a daemon in the same process (tests) in between.
  const pace = new Pacer(64);

  // The unreferenced blobs, checked against what was linked since the mark only (no
  // revision the mark read, doomed or kept, references them); then the rest, each
  // run of one kind in plan order.
  const passes: { items: PlanItem[]; doomed: Set<string> }[] = [
    { items: plan.items.slice(0, plan.unreferenced), doomed: new Set() },
    { items: plan.items.slice(plan.unreferenced), doomed },
  ];
  for (const pass of passes) {
    let rescan: Protected | undefined;
    for (const group of byKind(pass.items)) {
      if (opts.signal?.aborted) {
        result.interrupted = true;
        break;
      }
      if ((group[0]!.kind === 'layer-link' || group[0]!.kind === 'blob') && !rescan) rescan = protectedSinceMark(paths, inv, pass.doomed);
      // A revision a tag points at now stays, though the mark saw no tag on it: a push
      // linked it just before the mark and moved the tag just after.
      const currents = group[0]!.kind === 'revision' ? currentsNow(paths, new Set(group.map((i) => i.repository!))) : undefined;
      for (const item of group) {
        await pace.tick();
        if (opts.signal?.aborted) {
          result.interrupted = true;
          break;
        }
        const outcome = currents?.has(`${item.repository}@${item.digest}`) ? 'a tag points at it now' : await sweepItem(paths, trash, item, opts, rescan);
        if (outcome === 'removed') result.removed.push(item);
        else result.spared.push({ ...item, why: outcome });
        opts.onProgress?.(++done, plan.items.length);
      }
    }
    if (result.interrupted) break;
  }
  return result;
}

/** `name@digest` of every tag's current revision in these repositories, read now. */
function currentsNow(paths: Paths, names: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    for (const tag of listTagsSync(paths, name)) {
      const d = readTextSyncOrUndefined(paths.tagCurrent(name, tag))?.trim();
      if (d) out.add(`${name}@${d}`);
    }
  }
  return out;
}

/** Runs of consecutive items of one kind, in plan order. */
function byKind(items: PlanItem[]): PlanItem[][] {
  const groups: PlanItem[][] = [];
  for (const item of items) {
    const last = groups.at(-1);
    if (last && last[0]!.kind === item.kind) last.push(item);
    else groups.push([item]);
  }
  return groups;
}

async function sweepItem(paths: Paths, trash: Trash, item: PlanItem, opts: SweepOptions, rescan?: Protected): Promise<string> {
  // The daemon touched it since the mark, or it is young: a push relies on it.
  const touched = (st: Stats) => st.mtimeMs !== item.mtimeMs || st.mtimeMs >= opts.freshSinceMs;
  const d = item.digest ? parseDigest(item.digest) : undefined;
  let outcome: string;
  switch (item.kind) {
    case 'tag': {
      // An attached tag stays if it moved since the mark, or its manifest is linked again;
      // an unused cached tag if it moved, or its revision was served since the mark.
      const subject = paths.revision(item.repository!, parseDigest(item.subject!));
      const moved = (at: string) => statSyncOrUndefined(join(at, 'current'))?.mtimeMs !== item.mtimeMs;
      const wanted = () => {
        const st = statSyncOrUndefined(subject);
        return item.servedMtimeMs === undefined ? st !== undefined : st !== undefined && st.mtimeMs !== item.servedMtimeMs;
      };
      outcome = await trash.retire(paths.tag(item.repository!, item.tag!), (_st, at) => moved(at) || wanted());
      break;
    }
    case 'history-entry': {
      // The tag may have moved back to this revision since the mark: then its entry stays.
      const current = () => readTextSyncOrUndefined(paths.tagCurrent(item.repository!, item.tag!))?.trim() === item.digest;
      outcome = await trash.retire(paths.tagIndexEntry(item.repository!, item.tag!, d!), (st) => touched(st) || current());
      break;
    }
    case 'revision':
      outcome = await trash.retire(paths.revision(item.repository!, d!), touched);
      break;
    case 'referrer-link': {
      const revision = paths.revision(item.repository!, d!);
      outcome = await trash.retire(paths.referrer(item.repository!, parseDigest(item.subject!), d!), (st) => touched(st) || statSyncOrUndefined(revision) !== undefined);
      break;
    }
    case 'layer-link':
      if (rescan?.everything || rescan?.layers.has(`${item.repository}@${item.digest}`)) return 'used by a revision linked since the mark';
      outcome = await trash.retire(paths.layer(item.repository!, d!), touched);
      break;
    case 'blob':
      if (rescan?.everything || rescan?.blobs.has(item.digest!)) return 'used by a revision linked since the mark';
      outcome = await trash.retire(paths.blob(d!), touched);
      break;
    case 'signatures': {
      const payload = paths.blob(d!);
      outcome = await trash.retire(paths.signaturesOf(d!), (_st, at) => treeStatsSync(at).mtimeMs !== item.mtimeMs || statSyncOrUndefined(payload) !== undefined);
      break;
    }
    case 'upload':
      outcome = await trash.retire(paths.upload(item.repository!, item.upload!), (_st, at) => treeStatsSync(at).mtimeMs > item.mtimeMs);
      break;
  }
  if (outcome === 'spared') return 'in use since the mark';
  if (outcome === 'gone') return 'already gone';
  return outcome;
}

interface Protected {
  /** `repo@digest` layer links that a revision linked now needs. */
  layers: Set<string>;
  blobs: Set<string>;
  everything?: boolean;
}

/**
 * Blobs and layer links needed by revisions linked now that the mark did not keep:
 * pushed since the mark, or doomed but spared by the sweep. (Revisions the mark
 * kept already protect theirs through the plan.)
 */
function protectedSinceMark(paths: Paths, inv: Snapshot, doomed: Set<string>): Protected {
  const known = new Map(inv.repositories.map((r) => [r.name, r.revisions]));
  const out: Protected = { layers: new Set(), blobs: new Set() };
  for (const name of walkNamesSync(paths).repositories) {
    for (const digest of listDigestsSync(paths.revisionsDir(name))) {
      const d = digestString(digest);
      if (known.get(name)?.has(d) && !doomed.has(`${name}@${d}`)) continue;
      out.blobs.add(d);
      const refs = readManifest(paths, { digest: d, mediaType: readTextSyncOrUndefined(paths.revision(name, digest))?.trim() ?? '' });
      // A new revision whose references cannot be read might need any blob: spare them all.
      if (refs.error) out.everything = true;
      for (const b of refs.blobs) {
        out.blobs.add(b);
        out.layers.add(`${name}@${b}`);
      }
    }
  }
  return out;
}
