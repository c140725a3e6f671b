// `cairn import`: a bundle into a store. Two phases, so that nothing becomes
// visible unless the whole bundle is sound:
//   1. verify: every blob is hashed while it is copied to a staging folder under
//      <root>/tmp; every manifest parsed; every size checked against its descriptor;
//      every blob the bundle leaves out (an incremental bundle) must be in the store.
//   2. commit: staged blobs are renamed into blobs/, then, per repository, layer
//      links, manifests (children before the indexes that list them, through the
//      same ManifestStore.put as a push), then tags and their histories.
import { tempName } from '../shared/holder.js';
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_MANIFEST_BYTES, type Manifest, parseManifest } from '../shared/manifest.js';
import { mkdirp, removeTree } from '../shared/fsx.js';
import { type Digest, digestString, isDigest, isName, isTag, parseDigest } from '../shared/reference.js';
import { openRegistry, type Registry } from '../store/index.js';
import { prepareRoot } from '../store/root.js';
import { Annotations, BundleError, type BundleReader, type LayoutDescriptor, type StagedBlob, openBundle } from './bundle.js';
import type { OnBytes } from './progress.js';

export interface ImportOptions {
  root: string;
  source: string;
  /** Where entries go that do not say (bundles from other tools); overrides dev.cairn.repository. */
  repository?: string;
  onBytes?: OnBytes;
}

export interface ImportReport {
  source: string;
  repositories: string[];
  manifests: number;
  blobsAdded: number;
  blobsPresent: number;
  bytesAdded: number;
  /** `name:tag` whose current revision moved. */
  tagsMoved: string[];
  historyEntriesWritten: number;
}

interface PlannedManifest {
  repository: string;
  digest: Digest;
  body: Buffer;
  mediaType: string;
  /** The digest the registry gives it: the payload digest for schema1, else `digest`. */
  expected: Digest;
}

interface PlannedTagEntry {
  digest: Digest;
  taggedAt?: string;
  current: boolean;
}

interface Plan {
  /** Blobs to adopt (staged), by digest string. */
  staged: Map<string, { digest: Digest; blob: StagedBlob }>;
  /** Per repository: blobs to link and manifests in commit order. */
  layers: Map<string, Map<string, Digest>>;
  manifests: PlannedManifest[];
  tags: Map<string, { repository: string; tag: string; entries: PlannedTagEntry[] }>;
}

export async function importBundle(opts: ImportOptions): Promise<ImportReport> {
  if (opts.repository !== undefined && !isName(opts.repository)) throw new Error(`--repository: ${JSON.stringify(opts.repository)} is not a repository name`);
  const reg = openRegistry(resolve(opts.root));
  await prepareRoot(reg.paths);
  const run = tempName();
  const staging = reg.paths.importStaging(run);
  await mkdirp(staging);
  try {
    const reader = await openBundle(resolve(opts.source), (d) => reg.paths.stagedBlob(run, d), opts.onBytes);
    const plan = await verify(reg, reader, opts.repository);
    return await commit(reg, plan, opts.source);
  } finally {
    await removeTree(staging);
  }
}

async function verify(reg: Registry, reader: BundleReader, repository: string | undefined): Promise<Plan> {
  const plan: Plan = { staged: new Map(), layers: new Map(), manifests: [], tags: new Map() };
  const visited = new Set<string>();

  /** A blob the bundle carries (checked against `size`), or one the store already holds. */
  const need = async (d: Digest, size: number | undefined, what: string): Promise<StagedBlob | undefined> => {
    const staged = await reader.blob(d);
    const actual = staged?.size ?? (await reg.blobs.size(d));
    if (actual === undefined) throw new BundleError(`blob ${digestString(d)} (${what}) is neither in the bundle nor in the store`);
    if (size !== undefined && actual !== size) {
      throw new BundleError(`blob ${digestString(d)} (${what}) has ${actual} byte(s), its descriptor says ${size}`);
    }
    if (staged) plan.staged.set(digestString(d), { digest: d, blob: staged });
    return staged;
  };

  const visit = async (repo: string, desc: LayoutDescriptor, what: string): Promise<void> => {
    const d = descriptorDigest(desc, what);
    const key = `${repo}@${digestString(d)}`;
    if (visited.has(key)) return;
    visited.add(key);
    if (desc.size > MAX_MANIFEST_BYTES) throw new BundleError(`manifest ${digestString(d)} (${what}) is over ${MAX_MANIFEST_BYTES} bytes`);
    const staged = await need(d, desc.size, what);
    const body = staged ? await fs.readFile(staged.file) : await reg.blobs.readAll(d);
    let m: Manifest;
    try {
      m = parseManifest(body, desc.mediaType);
    } catch (err) {
      throw new BundleError(`manifest ${digestString(d)} (${what}) is invalid: ${(err as Error).message}`);
    }
    const payload = desc.annotations?.[Annotations.payloadDigest];
    const expected = payload && isDigest(payload) ? parseDigest(payload) : d;
    // A schema1 JWS is stored by put() as its payload; the carried bytes are no blob of the store.
    if (expected !== d) plan.staged.delete(digestString(d));
    const sizes = blobSizes(m);
    const layers = plan.layers.get(repo) ?? new Map<string, Digest>();
    plan.layers.set(repo, layers);
    for (const b of m.blobs) {
      await need(b, sizes.get(digestString(b)), `referenced by ${repo}@${digestString(expected)}`);
      layers.set(digestString(b), b);
    }
    const children = m.kind === 'index' ? (m.json.manifests as LayoutDescriptor[]) : [];
    for (const c of children) await visit(repo, c, `child of ${repo}@${digestString(expected)}`);
    plan.manifests.push({ repository: repo, digest: d, body, mediaType: m.mediaType, expected });
  };

  reader.index.manifests.forEach((desc, i) => {
    if (typeof desc !== 'object' || desc === null) throw new BundleError(`index.json manifests[${i}] is not a descriptor`);
  });
  for (const [i, desc] of reader.index.manifests.entries()) {
    const where = `index.json manifests[${i}]`;
    const a = desc.annotations ?? {};
    const repo = repository ?? a[Annotations.repository];
    if (repo === undefined) throw new BundleError(`${where} does not say its repository (no ${Annotations.repository}): pass --repository NAME`);
    if (!isName(repo)) throw new BundleError(`${where}: ${JSON.stringify(repo)} is not a repository name`);
    await visit(repo, desc, where);
    const tag = tagOf(a[Annotations.refName], where);
    const historyOf = a[Annotations.historyOf];
    if (historyOf !== undefined && !isTag(historyOf)) throw new BundleError(`${where}: ${Annotations.historyOf} ${JSON.stringify(historyOf)} is not a tag`);
    const at = a[Annotations.taggedAt];
    const taggedAt = at === undefined ? undefined : isoTime(at, where);
    const payload = a[Annotations.payloadDigest];
    const digest = payload && isDigest(payload) ? parseDigest(payload) : descriptorDigest(desc, where);
    for (const [t, current] of [[tag, true], [historyOf, false]] as const) {
      if (t === undefined) continue;
      const k = `${repo}:${t}`;
      const entry = plan.tags.get(k) ?? { repository: repo, tag: t, entries: [] };
      entry.entries.push({ digest, taggedAt, current });
      plan.tags.set(k, entry);
    }
  }
  return plan;
}

async function commit(reg: Registry, plan: Plan, source: string): Promise<ImportReport> {
  const report: ImportReport = {
    source,
    repositories: [...new Set(plan.manifests.map((m) => m.repository))].sort(),
    manifests: plan.manifests.length,
    blobsAdded: 0,
    blobsPresent: 0,
    bytesAdded: 0,
    tagsMoved: [],
    historyEntriesWritten: 0,
  };
  for (const { digest, blob } of plan.staged.values()) {
    // adopt() only touches a blob the store holds already, and says which it did.
    if (!(await reg.blobs.adopt(blob.file, digest))) report.blobsPresent++;
    else {
      report.blobsAdded++;
      report.bytesAdded += blob.size;
    }
  }
  for (const [repo, layers] of plan.layers) for (const d of layers.values()) await reg.repos.linkLayer(repo, d);
  for (const m of plan.manifests) await reg.manifests.put(m.repository, m.body, m.mediaType, m.expected, []);
  for (const { repository, tag, entries } of plan.tags.values()) {
    const { moved, written } = await applyTag(reg, repository, tag, entries);
    report.historyEntriesWritten += written;
    if (moved) report.tagsMoved.push(`${repository}:${tag}`);
  }
  return report;
}

/**
 * Rebuilds a tag from the bundle: history entries oldest first (the bundle's order
 * when it gives no times), then `current`. A history entry the store has keeps the
 * newer of the two times; `current` moves to the bundle's unless the store's
 * current one was tagged later, so bundles imported out of order still converge
 * and importing a bundle twice writes nothing.
 */
/**
 * Writes a tag's imported history and moves `current`, under the tag's lock when the
 * tag exists (a new tag has no folder to lock yet).
 */
async function applyTag(reg: Registry, repo: string, tag: string, entries: PlannedTagEntry[]): Promise<{ moved: boolean; written: number }> {
  const locked = await reg.repos.withTagLock(repo, tag, () => applyTagUnlocked(reg, repo, tag, entries));
  return locked?.value ?? applyTagUnlocked(reg, repo, tag, entries);
}

async function applyTagUnlocked(reg: Registry, repo: string, tag: string, entries: PlannedTagEntry[]): Promise<{ moved: boolean; written: number }> {
  const { repos } = reg;
  const now = new Date().toISOString();
  const local = new Map((await repos.tagHistory(repo, tag)).map((e) => [digestString(e.digest), e.taggedAt]));
  const ordered = entries
    .map((e, i) => ({ e, i }))
    .sort((x, y) => Number(x.e.current) - Number(y.e.current) || (x.e.taggedAt ?? '').localeCompare(y.e.taggedAt ?? '') || x.i - y.i)
    .map((x) => x.e);
  let written = 0;
  for (const e of ordered) {
    const key = digestString(e.digest);
    const have = local.get(key);
    if (have !== undefined && (e.taggedAt === undefined || e.taggedAt <= have)) continue;
    const at = e.taggedAt ?? now;
    await repos.recordHistory(repo, tag, e.digest, new Date(at));
    local.set(key, at);
    written++;
  }
  const current = await repos.tagCurrent(repo, tag);
  const wanted = [...ordered].reverse().find((e) => e.current)?.digest;
  let target: Digest | undefined;
  if (wanted && (!current || (digestString(current) !== digestString(wanted) && local.get(digestString(wanted))! >= (local.get(digestString(current)) ?? '')))) {
    target = wanted;
  } else if (!current) {
    // Only history entries (a `name:tag@digest` export of an old revision): point at the newest, as a DELETE fallback does.
    const newest = [...local.entries()].sort((a, b) => b[1].localeCompare(a[1]))[0];
    target = newest && parseDigest(newest[0]);
  }
  if (target) await repos.pointTag(repo, tag, target);
  if (written) await repos.rebuildTagLog(repo, tag); // re-dated entries: the log follows time again
  return { moved: target !== undefined, written };
}

function descriptorDigest(desc: LayoutDescriptor, what: string): Digest {
  if (typeof desc.digest !== 'string' || !isDigest(desc.digest)) throw new BundleError(`${what}: ${JSON.stringify(desc.digest)} is not a digest`);
  if (typeof desc.mediaType !== 'string') throw new BundleError(`${what}: no mediaType`);
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0) throw new BundleError(`${what}: bad size`);
  return parseDigest(desc.digest);
}

/** Config and layer sizes from an image manifest's descriptors (schema1 has none). */
function blobSizes(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  if (m.kind !== 'image') return out;
  const descs = [m.json.config, ...((m.json.layers as unknown[]) ?? [])] as LayoutDescriptor[];
  for (const d of descs) if (d && typeof d.digest === 'string') out.set(d.digest, d.size);
  return out;
}

/** The tag in `org.opencontainers.image.ref.name`: a bare tag, or the tag of a full reference (`host/name:tag`). */
function tagOf(refName: string | undefined, where: string): string | undefined {
  if (refName === undefined) return undefined;
  if (isTag(refName)) return refName;
  const m = /:([^:/@]+)(?:@.*)?$/.exec(refName);
  if (m && isTag(m[1]!)) return m[1];
  throw new BundleError(`${where}: ${Annotations.refName} ${JSON.stringify(refName)} names no tag`);
}

function isoTime(s: string, where: string): string {
  const t = new Date(s);
  if (Number.isNaN(t.getTime())) throw new BundleError(`${where}: ${Annotations.taggedAt} ${JSON.stringify(s)} is not a time`);
  return t.toISOString();
}
