// The GC's picture of the tree at mark time: every revision, tag history entry,
// link, blob, signature folder and upload, with the mtime it had when read. The
// plan is computed from this data alone; the sweep compares each item's mtime
// with the one recorded here to notice that the daemon used it since.
import { compareStrings, listBlobsSync, listDigestsSync, listTagsSync, listUploadsSync, walkNamesSync } from '../shared/tree.js';
import { type Paths, tagFolder } from '../shared/paths.js';
import { digestString, isDigest, parseDigest } from '../shared/reference.js';
import { Pacer, pathExistsSync, readTextSyncOrUndefined, readWithStatsSync, statSyncOrUndefined, treeStatsSync } from '../shared/syncfs.js';
import { type ManifestRefs, manifestRefs } from './manifestrefs.js';

export interface RevisionInfo {
  digest: string;
  mediaType: string;
  mtimeMs: number;
}

export interface HistoryInfo {
  digest: string;
  taggedAt: string;
  mtimeMs: number;
}

export interface TagInfo {
  tag: string;
  current?: string;
  /** When `current` was last written: a tag moved since the mark began may name a revision the mark listed too early to see. */
  currentMtimeMs: number;
  /**
   * Newest first. Empty for a tag whose only entry is its current revision's: that
   * entry always stays and keeps nothing the current revision does not, so it is not
   * read (four file calls fewer per such tag).
   */
  history: HistoryInfo[];
}

export interface LinkInfo {
  digest: string;
  mtimeMs: number;
}

export interface ReferrerLinkInfo extends LinkInfo {
  subject: string;
}

export interface UploadInfo {
  id: string;
  /** Newest mtime of the upload's folder and files: when it last saw activity. */
  activeMs: number;
  startedAt?: string;
  bytes: number;
}

export interface RepositoryInfo {
  name: string;
  /** Filled by the pull-through cache (it has an `_upstream` mark): its revisions' mtimes say when each was last served. */
  cached?: boolean;
  revisions: Map<string, RevisionInfo>;
  tags: TagInfo[];
  layers: Map<string, LinkInfo>;
  referrers: ReferrerLinkInfo[];
  uploads: UploadInfo[];
}

export interface BlobInfo {
  digest: string;
  size: number;
  mtimeMs: number;
}

export interface SignatureFolderInfo {
  payload: string;
  bytes: number;
  /** Newest mtime of the folder and its files. */
  mtimeMs: number;
}

export interface Snapshot {
  repositories: RepositoryInfo[];
  /** Parsed references of every linked revision's manifest, by digest. */
  manifests: Map<string, ManifestRefs>;
  blobs: Map<string, BlobInfo>;
  signatures: SignatureFolderInfo[];
}

export async function takeSnapshot(paths: Paths, onRepository?: (done: number, total: number) => void): Promise<Snapshot> {
  // Sync reads (see shared/syncfs.ts): the tree is many small files, and the GC runs
  // in a process of its own; the pacer still lets signals and the progress bar in.
  const pace = new Pacer();
  const names = walkNamesSync(paths).repositories;
  const repositories: RepositoryInfo[] = [];
  for (const name of names) {
    repositories.push(await readRepository(paths, name, pace));
    onRepository?.(repositories.length, names.length);
  }
  const manifests = new Map<string, ManifestRefs>();
  for (const repo of repositories) {
    for (const r of repo.revisions.values()) {
      if (manifests.has(r.digest)) continue;
      manifests.set(r.digest, readManifest(paths, r));
      await pace.tick();
    }
  }
  const blobs = new Map<string, BlobInfo>();
  for (const d of listBlobsSync(paths)) {
    const st = statSyncOrUndefined(paths.blob(d));
    if (st) blobs.set(digestString(d), { digest: digestString(d), size: st.size, mtimeMs: st.mtimeMs });
    await pace.tick();
  }
  const signatures: SignatureFolderInfo[] = [];
  for (const payload of listDigestsSync(paths.signaturesDir())) {
    const { bytes, mtimeMs } = treeStatsSync(paths.signaturesOf(payload));
    signatures.push({ payload: digestString(payload), bytes, mtimeMs });
  }
  return { repositories, manifests: sortedMap(manifests), blobs, signatures };
}

async function readRepository(paths: Paths, name: string, pace: Pacer): Promise<RepositoryInfo> {
  const revisions = new Map<string, RevisionInfo>();
  for (const d of listDigestsSync(paths.revisionsDir(name))) {
    const link = readWithStatsSync(paths.revision(name, d));
    if (link) revisions.set(digestString(d), { digest: digestString(d), mediaType: link.data.toString('utf8').trim(), mtimeMs: link.stats.mtimeMs });
    await pace.tick();
  }
  const tags: TagInfo[] = [];
  for (const tag of listTagsSync(paths, name)) {
    tags.push(readTag(paths, name, tag));
    await pace.tick();
  }
  const layers = new Map<string, LinkInfo>();
  for (const d of listDigestsSync(paths.layersDir(name))) {
    const st = statSyncOrUndefined(paths.layer(name, d));
    if (st) layers.set(digestString(d), { digest: digestString(d), mtimeMs: st.mtimeMs });
    await pace.tick();
  }
  const referrers: ReferrerLinkInfo[] = [];
  for (const subject of listDigestsSync(paths.referrersDir(name))) {
    for (const d of listDigestsSync(paths.referrersOf(name, subject))) {
      const st = statSyncOrUndefined(paths.referrer(name, subject, d));
      if (st) referrers.push({ subject: digestString(subject), digest: digestString(d), mtimeMs: st.mtimeMs });
      await pace.tick();
    }
  }
  const uploads: UploadInfo[] = [];
  for (const id of listUploadsSync(paths, name)) {
    // The files' mtimes tell the last activity: the state is written at the start,
    // the data file on every chunk. startedAt is only reported.
    const { bytes, mtimeMs } = treeStatsSync(paths.upload(name, id));
    let startedAt: string | undefined;
    try {
      startedAt = JSON.parse(readTextSyncOrUndefined(paths.uploadState(name, id)) ?? '{}').startedAt;
    } catch {
      // An unreadable state file: the mtimes alone tell the upload's age.
    }
    uploads.push({ id, activeMs: mtimeMs, startedAt: typeof startedAt === 'string' ? startedAt : undefined, bytes });
  }
  const cached = pathExistsSync(paths.upstreamMark(name));
  return { name, ...(cached && { cached }), revisions, tags, layers, referrers, uploads };
}

/** One tag: `current`, and its history newest first (content and mtime from one open each). */
function readTag(paths: Paths, name: string, tag: string): TagInfo {
  const files = tagFolder(paths.tag(name, tag));
  const read = readWithStatsSync(files.current);
  const text = read?.data.toString('utf8').trim();
  const current = text && isDigest(text) ? text : undefined;
  const currentMtimeMs = read?.stats.mtimeMs ?? 0;
  const listed = listDigestsSync(files.index);
  if (listed.length === 1 && current === digestString(listed[0]!)) return { tag, current, currentMtimeMs, history: [] };
  const entries: (HistoryInfo & { hex: string })[] = [];
  for (const d of listed) {
    const entry = readWithStatsSync(files.entry(d));
    if (entry) entries.push({ digest: digestString(d), hex: d.hex, taggedAt: entry.data.toString('utf8').trim(), mtimeMs: entry.stats.mtimeMs });
  }
  // The order of Tree.tagHistory: newest first, ties by digest.
  entries.sort((a, b) => compareStrings(b.taggedAt, a.taggedAt) || compareStrings(a.hex, b.hex));
  const history = entries.map(({ digest, taggedAt, mtimeMs }) => ({ digest, taggedAt, mtimeMs }));
  return { tag, current, currentMtimeMs, history };
}

/** Maps filled concurrently, put back in key order so the plan reads the same every run. */
function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A revision's manifest references, read now (sync): the mark's, and the sweep's rescan of revisions linked since. */
export function readManifest(paths: Paths, r: Pick<RevisionInfo, 'digest' | 'mediaType'>): ManifestRefs {
  const body = readWithStatsSync(paths.blob(parseDigest(r.digest)))?.data;
  if (!body) return { blobs: [], children: [], error: 'manifest blob is missing' };
  return manifestRefs(body, r.mediaType);
}
