// Mark and plan (docs/gc.md), as pure data: from an inventory of the tree, the
// keep-lists and the options, compute what is kept and why, and what goes and why.
// Nothing here reads or writes the filesystem, so the plan a --dry-run prints is
// exactly the one a real run hands to the sweep.
import type { Snapshot, RepositoryInfo, TagInfo } from './snapshot.js';
import type { KeepEntry } from './keeplist.js';
import { digestString, isDigest } from '../shared/reference.js';

export interface PlanOptions {
  keepHistory: number;
  keepWithinMs?: number;
  graceMs: number;
  uploadTtlMs: number;
  /** In pull-through repositories: revisions not served for this long are not roots, and tags at them go. */
  unusedMs?: number;
}

export type ItemKind = 'tag' | 'history-entry' | 'revision' | 'referrer-link' | 'layer-link' | 'blob' | 'signatures' | 'upload';

/** One thing the sweep removes. `mtimeMs` is what the mark saw; a changed mtime at sweep time spares the item. */
export interface PlanItem {
  kind: ItemKind;
  /** Human form: `repo:tag@digest`, `repo@digest`, `digest`, `repo/_uploads/<id>`. */
  ref: string;
  repository?: string;
  tag?: string;
  digest?: string;
  subject?: string;
  upload?: string;
  bytes: number;
  reason: string;
  mtimeMs: number;
  /** An unused cached tag: its revision's mtime at the mark; served since (a new mtime), the tag stays. */
  servedMtimeMs?: number;
}

export interface Plan {
  /** When the mark was taken (ISO-8601). */
  markedAt: string;
  kept: { revisions: number; blobs: number };
  /**
   * In sweep order: each step removes references before what they reference. The
   * first `unreferenced` are blobs no revision the mark read references or is
   * (uploaded, never put in a manifest) and their layer links: they go first (see sweep.ts).
   */
  items: PlanItem[];
  unreferenced: number;
  bytes: number;
  warnings: string[];
}

/**
 * File times come from the kernel's coarse clock, up to one tick (10 ms at the
 * slowest HZ) behind the clock a process reads: a write made just after the mark
 * began can carry an mtime just before it.
 */
const CLOCK_TICK_MS = 10;

/**
 * The mtime from which on something counts as fresh, for a mark begun at `markMs`:
 * used within the grace period before the mark, or at any time since. Even with
 * `--grace 0s` a blob pushed while the GC runs stays, so a push beside a GC whose
 * blobs came after the mark's start always completes.
 */
export function freshSince(markMs: number, graceMs: number): number {
  return markMs - graceMs - CLOCK_TICK_MS;
}

export const SWEEP_ORDER: ItemKind[] = ['tag', 'history-entry', 'revision', 'referrer-link', 'layer-link', 'blob', 'signatures', 'upload'];

/** `now` is when the mark began: before the inventory was read, not after. */
export function makePlan(inv: Snapshot, keep: KeepEntry[], opts: PlanOptions, now: number): Plan {
  const warnings: string[] = [];
  const since = freshSince(now, opts.graceMs);
  const fresh = (mtimeMs: number) => mtimeMs >= since;
  const keepByRepo = groupKeep(inv, keep, warnings);

  const items: PlanItem[] = [];
  const keptManifests = new Set<string>();
  /** Blobs a kept manifest or a kept layer link needs, across all repositories. */
  const neededBlobs = new Set<string>();
  let unreadableKept = false;
  let keptRevisions = 0;

  for (const repo of inv.repositories) {
    const { kept, dropped } = markRepository(repo, inv, keepByRepo.get(repo.name) ?? [], opts, now, fresh, warnings);
    for (const t of dropped) {
      items.push({
        kind: 'tag',
        ref: `${repo.name}:${t.tag}`,
        repository: repo.name,
        tag: t.tag,
        digest: t.current,
        subject: attachedSubject(t.tag) ?? t.current,
        bytes: 0,
        reason: attachedSubject(t.tag) ? `attached to ${attachedSubject(t.tag)}, which is removed` : `cached, and ${t.current} not served since ${new Date(now - opts.unusedMs!).toISOString()}`,
        mtimeMs: t.currentMtimeMs,
        ...(!attachedSubject(t.tag) && { servedMtimeMs: repo.revisions.get(t.current!)?.mtimeMs }),
      });
    }
    keptRevisions += kept.size;
    const repoBlobs = new Set<string>();
    for (const d of kept) {
      keptManifests.add(d);
      const refs = inv.manifests.get(d);
      if (refs?.error) {
        unreadableKept = true;
        warnings.push(`${repo.name}@${d}: ${refs.error}; no blob or layer link will be removed`);
      }
      for (const b of refs?.blobs ?? []) repoBlobs.add(b);
    }

    for (const t of repo.tags) {
      if (dropped.includes(t)) continue; // its history goes with it
      for (const h of t.history) {
        // The current revision's entry always stays, even if the revision was linked
        // after the inventory listed revisions (a push racing the mark).
        if (h.digest === t.current || kept.has(h.digest) || fresh(h.mtimeMs)) continue;
        items.push({
          kind: 'history-entry',
          ref: `${repo.name}:${t.tag}@${h.digest}`,
          repository: repo.name,
          tag: t.tag,
          digest: h.digest,
          bytes: 0,
          reason: `tagged ${h.taggedAt}, not current and not kept`,
          mtimeMs: h.mtimeMs,
        });
      }
    }
    // Which tags' histories hold each revision, built once (not a scan of every history per revision).
    const historyTags = new Map<string, string[]>();
    for (const t of repo.tags) {
      for (const h of t.history) {
        const tags = historyTags.get(h.digest);
        if (!tags) historyTags.set(h.digest, [t.tag]);
        else if (tags.at(-1) !== t.tag) tags.push(t.tag);
      }
    }
    for (const r of repo.revisions.values()) {
      if (kept.has(r.digest)) continue;
      const inHistory = historyTags.get(r.digest) ?? [];
      items.push({
        kind: 'revision',
        ref: `${repo.name}@${r.digest}`,
        repository: repo.name,
        digest: r.digest,
        bytes: 0,
        reason: inHistory.length ? `only in the history of ${inHistory.map((t) => `:${t}`).join(', ')}` : 'untagged and unreferenced',
        mtimeMs: r.mtimeMs,
      });
    }
    for (const l of repo.referrers) {
      if (kept.has(l.digest) || fresh(l.mtimeMs)) continue;
      items.push({
        kind: 'referrer-link',
        ref: `${repo.name}@${l.subject} <- ${l.digest}`,
        repository: repo.name,
        subject: l.subject,
        digest: l.digest,
        bytes: 0,
        reason: repo.revisions.has(l.digest) ? 'the referrer is removed' : 'the referrer is not a revision',
        mtimeMs: l.mtimeMs,
      });
    }
    for (const l of repo.layers.values()) {
      const blob = inv.blobs.get(l.digest);
      // A recently used blob may be about to be referenced from this repository
      // (HEAD, then PUT): its link stays too.
      if (repoBlobs.has(l.digest) || fresh(l.mtimeMs) || (blob && fresh(blob.mtimeMs))) {
        neededBlobs.add(l.digest);
        continue;
      }
      items.push({
        kind: 'layer-link',
        ref: `${repo.name}@${l.digest}`,
        repository: repo.name,
        digest: l.digest,
        bytes: 0,
        reason: 'no kept manifest of the repository uses it',
        mtimeMs: l.mtimeMs,
      });
    }
    for (const b of repoBlobs) neededBlobs.add(b);
    for (const u of repo.uploads) {
      if (now - u.activeMs < opts.uploadTtlMs) continue;
      items.push({
        kind: 'upload',
        ref: `${repo.name}/_uploads/${u.id}`,
        repository: repo.name,
        upload: u.id,
        bytes: u.bytes,
        reason: `started ${u.startedAt ?? 'at an unknown time'}, no activity since ${new Date(u.activeMs).toISOString()}`,
        mtimeMs: u.activeMs,
      });
    }
  }

  if (unreadableKept) {
    // Without a kept manifest's references the GC cannot know which blobs it needs.
    for (let i = items.length - 1; i >= 0; i--) if (items[i]!.kind === 'layer-link') items.splice(i, 1);
  } else {
    for (const b of inv.blobs.values()) {
      if (keptManifests.has(b.digest) || neededBlobs.has(b.digest) || fresh(b.mtimeMs)) continue;
      items.push({ kind: 'blob', ref: b.digest, digest: b.digest, bytes: b.size, reason: 'no kept manifest references it', mtimeMs: b.mtimeMs });
    }
  }
  const doomedBlobs = new Set(items.filter((i) => i.kind === 'blob').map((i) => i.digest));
  for (const s of inv.signatures) {
    const payloadGone = !inv.blobs.has(s.payload) || doomedBlobs.has(s.payload);
    if (keptManifests.has(s.payload) || !payloadGone || fresh(s.mtimeMs)) continue;
    items.push({
      kind: 'signatures',
      ref: `signatures/${s.payload}`,
      digest: s.payload,
      bytes: s.bytes,
      reason: inv.blobs.has(s.payload) ? 'the signed payload is removed' : 'the signed payload is gone',
      mtimeMs: s.mtimeMs,
    });
  }

  const rank = new Map(SWEEP_ORDER.map((k, i) => [k, i]));
  const referenced = new Set<string>();
  for (const [d, refs] of inv.manifests) {
    referenced.add(d);
    for (const r of [...refs.blobs, ...refs.children]) referenced.add(r);
  }
  const unreferenced = (i: PlanItem) => (i.kind === 'blob' || i.kind === 'layer-link') && !referenced.has(i.digest!);
  const inOrder = (a: PlanItem, b: PlanItem) => rank.get(a.kind)! - rank.get(b.kind)! || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);
  const first = items.filter(unreferenced).sort(inOrder);
  const rest = items.filter((i) => !unreferenced(i)).sort(inOrder);
  const keptBlobs = [...inv.blobs.keys()].filter((d) => !doomedBlobs.has(d)).length;
  return {
    markedAt: new Date(now).toISOString(),
    kept: { revisions: keptRevisions, blobs: keptBlobs },
    items: [...first, ...rest],
    unreferenced: first.length,
    bytes: items.reduce((n, i) => n + i.bytes, 0),
    warnings,
  };
}

/**
 * A tag that cosign attaches to a manifest (`sha256-<hex>.sig`, `.att`, `.sbom`):
 * the digest it is attached to, else undefined. Such a tag is no root of its own: it
 * stays while that manifest stays (as a referrer would), and goes with it.
 */
export function attachedSubject(tag: string): string | undefined {
  const m = /^(sha256|sha512)-([a-f0-9]+)\.(sig|att|sbom)$/.exec(tag);
  const d = m && `${m[1]}:${m[2]}`;
  return d && isDigest(d) ? d : undefined;
}

/**
 * The revisions of one repository that stay: the roots of the GC rules, then their
 * closure; and the attached tags (attachedSubject) whose manifest does not stay.
 */
function markRepository(
  repo: RepositoryInfo,
  inv: Snapshot,
  keep: KeepEntry[],
  opts: PlanOptions,
  now: number,
  fresh: (mtimeMs: number) => boolean,
  warnings: string[],
): { kept: Set<string>; dropped: TagInfo[] } {
  const roots: string[] = [];
  // A pull-through repository refreshes a revision's mtime when it serves it (at most hourly).
  const unusedMs = repo.cached ? opts.unusedMs : undefined;
  const served = (d: string) => unusedMs === undefined || (repo.revisions.get(d)?.mtimeMs ?? Infinity) >= now - unusedMs;
  for (const r of repo.revisions.values()) {
    // Created or re-pushed within the grace period: a push may still be relying on it.
    if (fresh(r.mtimeMs)) roots.push(r.digest);
  }
  const tagRoots = (t: TagInfo): string[] => {
    const out = t.current ? [t.current] : [];
    t.history.forEach((h, i) => {
      const taggedMs = Date.parse(h.taggedAt);
      if (!served(h.digest)) {
        if (fresh(h.mtimeMs)) out.push(h.digest);
      } else if (i < opts.keepHistory) out.push(h.digest);
      else if (opts.keepWithinMs !== undefined && now - taggedMs < opts.keepWithinMs) out.push(h.digest);
      else if (fresh(h.mtimeMs)) out.push(h.digest);
    });
    return out;
  };
  // A tag moved within the grace period is a root whatever its name: a signature may be pushed before its image's tag moves.
  let attached = repo.tags.filter((t) => attachedSubject(t.tag) !== undefined && !fresh(t.currentMtimeMs));
  // A cached tag whose revision nobody pulled for `unusedMs` goes, history and all: a pull fills it again.
  const unused = repo.tags.filter((t) => !attached.includes(t) && t.current !== undefined && !served(t.current) && !fresh(t.currentMtimeMs));
  for (const t of repo.tags) if (!attached.includes(t) && !unused.includes(t)) roots.push(...tagRoots(t));
  for (const k of keep) {
    const d = k.digest ? digestString(k.digest) : repo.tags.find((t) => t.tag === k.tag)?.current;
    if (!d) warnings.push(`${k.source}: ${k.name}:${k.tag} is not a tag of ${k.name}; nothing kept for it`);
    else roots.push(d);
  }

  // Referrers of a subject: from the _referrers links and from each manifest's own `subject`.
  const referrers = new Map<string, Set<string>>();
  const addReferrer = (subject: string, d: string) => {
    if (!referrers.has(subject)) referrers.set(subject, new Set());
    referrers.get(subject)!.add(d);
  };
  for (const l of repo.referrers) addReferrer(l.subject, l.digest);
  for (const r of repo.revisions.values()) {
    const subject = inv.manifests.get(r.digest)?.subject;
    if (subject) addReferrer(subject, r.digest);
  }

  // A tag moved since the mark began may name a revision linked after the mark listed
  // revisions (a push beside the GC): not worth a warning, and the sweep's rescan protects it.
  const movedSinceMark = new Set(repo.tags.filter((t) => t.current && t.currentMtimeMs >= freshSince(now, 0)).map((t) => t.current));
  const kept = new Set<string>();
  const close = (queue: string[]) => {
    while (queue.length) {
      const d = queue.pop()!;
      if (kept.has(d)) continue;
      if (!repo.revisions.has(d)) {
        if (roots.includes(d) && !movedSinceMark.has(d)) warnings.push(`${repo.name}@${d} is a root (tag, keep-list or history) but not a revision of ${repo.name}`);
        continue;
      }
      kept.add(d);
      queue.push(...(inv.manifests.get(d)?.children ?? []), ...(referrers.get(d) ?? []));
    }
  };
  close([...roots]);
  // Attached tags follow their manifest, until none is added (a signature of a signature).
  for (let added = true; added; ) {
    const follow = attached.filter((t) => kept.has(attachedSubject(t.tag)!));
    added = follow.length > 0;
    attached = attached.filter((t) => !follow.includes(t));
    close(follow.flatMap(tagRoots));
  }
  return { kept, dropped: [...attached, ...unused] };
}

/** Keep-list entries by repository; entries naming no repository only warn (outside lists lag behind). */
function groupKeep(inv: Snapshot, keep: KeepEntry[], warnings: string[]): Map<string, KeepEntry[]> {
  const byRepo = new Map<string, KeepEntry[]>();
  const repos = new Set(inv.repositories.map((r) => r.name));
  for (const k of keep) {
    if (!repos.has(k.name)) {
      warnings.push(`${k.source}: no repository ${k.name}; nothing kept for it`);
      continue;
    }
    if (!byRepo.has(k.name)) byRepo.set(k.name, []);
    byRepo.get(k.name)!.push(k);
  }
  return byRepo;
}
