// Carrying out a plan, in an order that never leaves a reference to something
// missing: tag-history entries, then revision links, then referrer links (what
// points at revisions), then layer links, then blobs (what links point at), then
// orphaned signatures and stale uploads. A crash between any two steps leaves a
// valid tree that the next run finishes.
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
import { exists, readOrUndefined, readTextOrUndefined, treeStats } from '../shared/fsx.js';
import { Tree } from '../shared/layout.js';
import type { Paths } from '../shared/paths.js';
import { digestString, parseDigest } from '../shared/reference.js';
import type { Inventory } from './inventory.js';
import type { Plan, PlanItem } from './plan.js';
import { manifestRefs } from './refs.js';
import type { Trash } from './trash.js';
import pMap from 'p-map';

/** Files renamed at once within one kind: enough to overlap the filesystem's waits. */
const SWEEP_CONCURRENCY = 16;

export interface SweepOptions {
  graceMs: number;
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

export async function sweep(paths: Paths, trash: Trash, plan: Plan, inv: Inventory, opts: SweepOptions): Promise<SweepResult> {
  const result: SweepResult = { removed: [], spared: [], interrupted: false };
  const doomed = new Set(plan.items.filter((i) => i.kind === 'revision').map((i) => `${i.repository}@${i.digest}`));
  let rescan: Protected | undefined;
  let done = 0;

  // Kinds go in plan order (references before what they reference); the items of
  // one kind are independent paths, so they are retired several at a time.
  for (const group of byKind(plan.items)) {
    if (opts.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    if ((group[0]!.kind === 'layer-link' || group[0]!.kind === 'blob') && !rescan) rescan = await protectedSinceMark(paths, inv, doomed);
    // A revision a tag points at now stays, though the mark saw no tag on it: a push
    // linked it just before the mark and moved the tag just after.
    const currents = group[0]!.kind === 'revision' ? await currentsNow(paths, new Set(group.map((i) => i.repository!))) : undefined;
    const outcomes = await pMap(
      group,
      async (item) => {
        if (opts.signal?.aborted) return undefined;
        if (currents?.has(`${item.repository}@${item.digest}`)) return 'a tag points at it now';
        const outcome = await sweepItem(paths, trash, item, opts, rescan);
        opts.onProgress?.(++done, plan.items.length);
        return outcome;
      },
      { concurrency: SWEEP_CONCURRENCY },
    );
    for (const [i, outcome] of outcomes.entries()) {
      const item = group[i]!;
      if (outcome === undefined) result.interrupted = true;
      else if (outcome === 'removed') result.removed.push(item);
      else result.spared.push({ ...item, why: outcome });
    }
  }
  return result;
}

/** `name@digest` of every tag's current revision in these repositories, read now. */
async function currentsNow(paths: Paths, names: Set<string>): Promise<Set<string>> {
  const tree = new Tree(paths);
  const out = new Set<string>();
  for (const name of names) {
    await pMap(
      await tree.listTags(name),
      async (tag) => {
        const d = await tree.tagCurrent(name, tag);
        if (d) out.add(`${name}@${digestString(d)}`);
      },
      { concurrency: SWEEP_CONCURRENCY },
    );
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
  const touched = (st: Stats) => st.mtimeMs !== item.mtimeMs || Date.now() - st.mtimeMs < opts.graceMs;
  const d = item.digest ? parseDigest(item.digest) : undefined;
  let outcome: string;
  switch (item.kind) {
    case 'history-entry': {
      // The tag may have moved back to this revision since the mark: then its entry stays.
      const current = async () => (await readTextOrUndefined(paths.tagCurrent(item.repository!, item.tag!)))?.trim() === item.digest;
      outcome = await trash.retire(paths.tagIndexEntry(item.repository!, item.tag!, d!), async (st) => touched(st) || (await current()));
      break;
    }
    case 'revision':
      outcome = await trash.retire(paths.revision(item.repository!, d!), touched);
      break;
    case 'referrer-link': {
      const revision = paths.revision(item.repository!, d!);
      outcome = await trash.retire(paths.referrer(item.repository!, parseDigest(item.subject!), d!), async (st) => touched(st) || (await exists(revision)));
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
      outcome = await trash.retire(paths.signaturesOf(d!), async (_st, at) => (await treeStats(at)).mtimeMs !== item.mtimeMs || (await exists(payload)));
      break;
    }
    case 'upload':
      outcome = await trash.retire(paths.upload(item.repository!, item.upload!), async (_st, at) => (await treeStats(at)).mtimeMs > item.mtimeMs);
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
async function protectedSinceMark(paths: Paths, inv: Inventory, doomed: Set<string>): Promise<Protected> {
  const tree = new Tree(paths);
  const known = new Map(inv.repositories.map((r) => [r.name, r.revisions]));
  const out: Protected = { layers: new Set(), blobs: new Set() };
  for (const name of await tree.listRepositories()) {
    for (const digest of await tree.listRevisions(name)) {
      const d = digestString(digest);
      if (known.get(name)?.has(d) && !doomed.has(`${name}@${d}`)) continue;
      out.blobs.add(d);
      const [mediaType, body] = await Promise.all([tree.revisionMediaType(name, digest), readOrUndefined(paths.blob(digest))]);
      const refs = body ? manifestRefs(body, mediaType?.trim() ?? '') : { blobs: [], error: 'manifest blob is missing' };
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

