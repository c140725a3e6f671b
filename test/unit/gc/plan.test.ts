// gc/plan.ts on its own: snapshots of a tree made in memory, the plan they give. A
// table of cases, each a rule of docs/gc.md; then a property over random trees: the
// plan never removes anything reachable from a root, whatever the tree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { KeepEntry } from '../../../gc/keeplist.js';
import type { ManifestRefs } from '../../../gc/manifestrefs.js';
import { makePlan, type PlanItem } from '../../../gc/plan.js';
import type { RepositoryInfo, Snapshot, TagInfo } from '../../../gc/snapshot.js';
import { parseDigest } from '../../../shared/reference.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const OLD = NOW - 30 * 86_400_000; // long before any grace period
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const opts = { keepHistory: 0, graceMs: 3_600_000, uploadTtlMs: 86_400_000 };

interface Manifest {
  blobs?: readonly number[];
  children?: readonly number[];
  subject?: number;
}

/** A one-repository snapshot: revisions by number with what each references, tags with their histories (newest first). */
function snapshot(spec: { revisions: Record<number, Manifest>; tags?: Record<string, number[]>; blobs?: number[]; fresh?: number[] }): Snapshot {
  const manifests = new Map<string, ManifestRefs>();
  const revisions = new Map<string, { digest: string; mediaType: string; mtimeMs: number }>();
  const mtime = (n: number) => (spec.fresh?.includes(n) ? NOW - 1000 : OLD);
  for (const [k, m] of Object.entries(spec.revisions)) {
    const n = Number(k);
    revisions.set(d(n), { digest: d(n), mediaType: 'application/vnd.oci.image.manifest.v1+json', mtimeMs: mtime(n) });
    manifests.set(d(n), { blobs: (m.blobs ?? []).map(d), children: (m.children ?? []).map(d), subject: m.subject === undefined ? undefined : d(m.subject) });
  }
  const tags: TagInfo[] = Object.entries(spec.tags ?? {}).map(([tag, history], i) => ({
    tag,
    current: d(history[0]!),
    currentMtimeMs: OLD,
    history: history.map((h, j) => ({ digest: d(h), taggedAt: new Date(OLD + i * 1000 - j * 60_000).toISOString(), mtimeMs: OLD })),
  }));
  const blobNumbers = new Set([...(spec.blobs ?? []), ...Object.values(spec.revisions).flatMap((m) => m.blobs ?? []), ...Object.keys(spec.revisions).map(Number)]);
  const repo: RepositoryInfo = {
    name: 'r',
    revisions,
    tags,
    layers: new Map([...(spec.blobs ?? []), ...Object.values(spec.revisions).flatMap((m) => m.blobs ?? [])].map((b) => [d(b), { digest: d(b), mtimeMs: mtime(b) }])),
    referrers: [],
    uploads: [],
  };
  return {
    repositories: [repo],
    manifests,
    blobs: new Map([...blobNumbers].map((b) => [d(b), { digest: d(b), size: 10, mtimeMs: mtime(b) }])),
    signatures: [],
  };
}

const removed = (items: PlanItem[], kind: PlanItem['kind']) => items.filter((i) => i.kind === kind).map((i) => i.digest).sort();
const keepOf = (ref: string): KeepEntry => {
  const [name, digest] = ref.split('@') as [string, string];
  return { name, digest: parseDigest(digest), source: 'test:1' };
};

describe('the plan, rule by rule', () => {
  const cases: { rule: string; tree: Parameters<typeof snapshot>[0]; keep?: KeepEntry[]; keepHistory?: number; revisionsGone: number[]; blobsGone: number[]; historyGone?: number[] }[] = [
    { rule: "a tag's current revision and its blobs stay", tree: { revisions: { 1: { blobs: [100] } }, tags: { v1: [1] } }, revisionsGone: [], blobsGone: [] },
    { rule: 'an untagged revision goes, with blobs only it used', tree: { revisions: { 1: { blobs: [100] }, 2: { blobs: [100, 101] } }, tags: { v1: [1] } }, revisionsGone: [2], blobsGone: [2, 101] },
    { rule: 'an older history entry goes; --keep-history 1 keeps it', tree: { revisions: { 1: {}, 2: {} }, tags: { v1: [2, 1] } }, revisionsGone: [1], blobsGone: [1], historyGone: [1] },
    { rule: '--keep-history 2 keeps the two newest entries', tree: { revisions: { 1: {}, 2: {}, 3: {} }, tags: { v1: [3, 2, 1] } }, keepHistory: 2, revisionsGone: [1], blobsGone: [1], historyGone: [1] },
    { rule: 'a keep-list entry is a root', tree: { revisions: { 1: {}, 2: { blobs: [100] } }, tags: { v1: [1] } }, keep: [keepOf(`r@${d(2)}`)], revisionsGone: [], blobsGone: [] },
    { rule: "an index keeps its children and theirs", tree: { revisions: { 1: { children: [2] }, 2: { children: [3] }, 3: { blobs: [100] }, 4: {} }, tags: { v1: [1] } }, revisionsGone: [4], blobsGone: [4] },
    { rule: 'a referrer of a kept revision stays; of a removed one, goes', tree: { revisions: { 1: {}, 2: { subject: 1 }, 3: {}, 4: { subject: 3 } }, tags: { v1: [1] } }, revisionsGone: [3, 4], blobsGone: [3, 4] },
    { rule: 'anything written within the grace period stays', tree: { revisions: { 1: {}, 2: { blobs: [100] } }, tags: { v1: [1] }, blobs: [200], fresh: [2, 200] }, revisionsGone: [], blobsGone: [] },
    { rule: 'an uploaded blob no manifest names goes', tree: { revisions: { 1: {} }, tags: { v1: [1] }, blobs: [300] }, revisionsGone: [], blobsGone: [300] },
    { rule: "cosign's sha256-<hex>.sig tag stays with its image", tree: { revisions: { 1: {}, 5: { blobs: [500] } }, tags: { v1: [1], [`sha256-${d(1).slice(7)}.sig`]: [5] } }, revisionsGone: [], blobsGone: [] },
    { rule: "cosign's tag goes with an image that goes", tree: { revisions: { 2: {}, 5: { blobs: [500] } }, tags: { [`sha256-${d(1).slice(7)}.sig`]: [5], v2: [2] } }, revisionsGone: [5], blobsGone: [5, 500] },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      const plan = makePlan(snapshot(c.tree), c.keep ?? [], { ...opts, keepHistory: c.keepHistory ?? 0 }, NOW);
      assert.deepEqual(removed(plan.items, 'revision'), c.revisionsGone.map(d).sort(), 'revisions');
      assert.deepEqual(removed(plan.items, 'blob'), c.blobsGone.map(d).sort(), 'blobs');
      if (c.historyGone) assert.deepEqual(removed(plan.items, 'history-entry'), c.historyGone.map(d).sort(), 'history entries');
      const order = plan.items.map((i) => i.kind);
      assert.ok(order.lastIndexOf('revision') < Math.max(order.indexOf('blob'), order.length), 'references go before what they reference');
    });
  }
  test('an attached tag whose image goes is itself an item, swept first', () => {
    const tag = `sha256-${d(1).slice(7)}.att`;
    const plan = makePlan(snapshot({ revisions: { 6: {} }, tags: { [tag]: [6] } }), [], opts, NOW);
    assert.deepEqual(plan.items.filter((i) => i.kind === 'tag').map((i) => i.tag), [tag]);
    assert.equal(plan.items.findIndex((i) => i.kind === 'tag'), plan.items.findIndex((i) => i.kind !== 'blob' && i.kind !== 'layer-link'));
  });
});

describe('the plan over random trees', () => {
  // Revisions 1..N reference blobs 100.. and earlier revisions (children, subjects): no cycles, like real content.
  const tree = fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      manifests: fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.record({
            blobs: fc.subarray([100, 101, 102, 103, 104, 105]),
            children: i ? fc.subarray(Array.from({ length: i }, (_, k) => k + 1), { maxLength: Math.min(2, i) }) : fc.constant([] as number[]),
            subject: i ? fc.option(fc.integer({ min: 1, max: i }), { nil: undefined }) : fc.constant(undefined),
          }),
        ),
      ),
      tags: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'latest'), fc.uniqueArray(fc.integer({ min: 1, max: n }), { minLength: 1, maxLength: 4 })),
      keep: fc.subarray(Array.from({ length: n }, (_, k) => k + 1), { maxLength: Math.min(2, n) }),
      keepHistory: fc.integer({ min: 0, max: 3 }),
      fresh: fc.subarray([...Array.from({ length: n }, (_, k) => k + 1), 100, 101, 102], { maxLength: 3 }),
    }),
  );

  test('nothing reachable from a tag, a kept history entry, a keep-list entry or a fresh revision is removed', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const revisions = Object.fromEntries(t.manifests.map((m, i) => [i + 1, m]));
        const snap = snapshot({ revisions, tags: t.tags, fresh: t.fresh });
        const plan = makePlan(snap, t.keep.map((k) => keepOf(`r@${d(k)}`)), { ...opts, keepHistory: t.keepHistory }, NOW);
        // Reachable, computed here independently of the planner.
        const roots = new Set<number>([...t.keep, ...t.fresh.filter((f) => f < 100)]);
        for (const history of Object.values(t.tags)) history.slice(0, Math.max(1, t.keepHistory)).forEach((h) => roots.add(h));
        const reachable = new Set<number>();
        const queue = [...roots];
        while (queue.length) {
          const r = queue.pop()!;
          if (reachable.has(r)) continue;
          reachable.add(r);
          queue.push(...(revisions[r]?.children ?? []));
          for (const [k, m] of Object.entries(revisions)) if (m.subject === r) queue.push(Number(k));
        }
        const neededBlobs = new Set([...reachable].flatMap((r) => revisions[r]?.blobs ?? []));
        const gone = new Set(plan.items.map((i) => `${i.kind} ${i.digest}`));
        for (const r of reachable) assert.ok(!gone.has(`revision ${d(r)}`) && !gone.has(`blob ${d(r)}`), `revision ${r} is reachable`);
        for (const b of neededBlobs) assert.ok(!gone.has(`blob ${d(b)}`) && !gone.has(`layer-link ${d(b)}`), `blob ${b} is needed`);
        for (const [tag, history] of Object.entries(t.tags)) {
          assert.ok(!plan.items.some((i) => i.kind === 'history-entry' && i.tag === tag && i.digest === d(history[0]!)), `the current entry of ${tag} stays`);
        }
        // And what is not reachable (nor fresh) goes: the plan is not merely cautious.
        for (const k of Object.keys(revisions).map(Number)) {
          if (!reachable.has(k)) assert.ok(gone.has(`revision ${d(k)}`), `revision ${k} is unreachable and old`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
