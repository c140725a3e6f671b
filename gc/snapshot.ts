// The GC's picture of the tree at mark time: every revision, tag history entry,
// link, blob, signature folder and upload, with the mtime it had when read. The
// plan is computed from this data alone; the sweep compares each item's mtime
// with the one recorded here to notice that the daemon used it since.
import { compareStrings, listBlobsSync, listDigestsSync, listTagsSync, listUploadsSync, walkNamesSync } from '../shared/tree.js';
import { type Paths, tagFolder } from '../shared/paths.js';
import { type Digest, digestString, isDigest, parseDigest } from '../shared/reference.js';
import { pathExistsSync, readTextSyncOrUndefined, readWithStatsSync, statSyncOrUndefined, treeStatsSync } from '../shared/syncfs.js';
import { TreeReader } from './reader.js';
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

/**
 * File reads in flight during the mark. A scheduled GC mostly finds the tree out of
 * the page cache, where each small file is a wait on the disk: overlapped, those
 * waits no longer add up (the gc process has 16 pool threads, see cairn.cts).
 */
const READS = 32;
/** Repositories read at once: most hold a few files each, too few to overlap on their own. */
const REPOSITORIES = 4;

/**
 * One string per distinct digest and media type: the same digest appears as a
 * revision, a history entry, a manifest's reference, a layer link and a blob, and a
 * big tree holds hundreds of thousands of them.
 */
type Intern = (s: string) => string;

function interner(): Intern {
  const held = new Map<string, string>();
  return (s) => {
    const had = held.get(s);
    if (had !== undefined) return had;
    held.set(s, s);
    return s;
  };
}

/** What every read of one mark shares. */
interface Mark {
  intern: Intern;
  /** A digest as its one string. */
  id: (d: Digest) => string;
  reader: TreeReader;
}

export async function takeSnapshot(paths: Paths, onRepository?: (done: number, total: number) => void): Promise<Snapshot> {
  const intern = interner();
  const mark: Mark = { intern, id: (d) => intern(digestString(d)), reader: new TreeReader() };
  const { id } = mark;
  // A folder with only uploads or layer links (blobs pushed, no manifest yet) is no
  // repository to a client, but its links and stale uploads are the GC's to judge.
  const walked = walkNamesSync(paths);
  const pushedInto = walked.others.filter((n) => pathExistsSync(paths.layersDir(n)) || pathExistsSync(paths.uploadsDir(n)));
  const names = [...walked.repositories, ...pushedInto].sort(compareStrings);
  let done = 0;
  const repositories = await mark.reader.map(
    names,
    async (name) => {
      const repo = await readRepository(paths, name, mark);
      onRepository?.(++done, names.length);
      return repo;
    },
    REPOSITORIES,
  );
  const unread = new Map<string, RevisionInfo>();
  for (const repo of repositories) for (const r of repo.revisions.values()) if (!unread.has(r.digest)) unread.set(r.digest, r);
  const refs = await mark.reader.map(unread.values(), async (r) => internRefs(refsOf((await mark.reader.read(paths.blob(parseDigest(r.digest))))?.data, r.mediaType), intern), READS);
  const manifests = new Map([...unread.keys()].map((d, i) => [d, refs[i]!]));
  const blobs = new Map<string, BlobInfo>();
  const blobList = listBlobsSync(paths);
  const blobStats = await mark.reader.map(blobList, (d) => mark.reader.stat(paths.blob(d)), READS);
  blobList.forEach((d, i) => {
    const st = blobStats[i];
    if (st) blobs.set(id(d), { digest: id(d), size: st.size, mtimeMs: st.mtimeMs });
  });
  const signatures: SignatureFolderInfo[] = [];
  for (const payload of listDigestsSync(paths.signaturesDir())) {
    const { bytes, mtimeMs } = treeStatsSync(paths.signaturesOf(payload));
    signatures.push({ payload: digestString(payload), bytes, mtimeMs });
  }
  return { repositories, manifests: sortedMap(manifests), blobs, signatures };
}

async function readRepository(paths: Paths, name: string, mark: Mark): Promise<RepositoryInfo> {
  const { intern, id, reader } = mark;
  const revisions = new Map<string, RevisionInfo>();
  const revisionList = listDigestsSync(paths.revisionsDir(name));
  const links = await reader.map(revisionList, (d) => reader.read(paths.revision(name, d)), READS);
  revisionList.forEach((d, i) => {
    const link = links[i];
    if (link) revisions.set(id(d), { digest: id(d), mediaType: intern(link.data.toString('utf8').trim()), mtimeMs: link.stats.mtimeMs });
  });
  const tags = await reader.map(listTagsSync(paths, name), (tag) => readTag(paths, name, tag, mark), READS);
  const layers = new Map<string, LinkInfo>();
  const layerList = listDigestsSync(paths.layersDir(name));
  const layerStats = await reader.map(layerList, (d) => reader.stat(paths.layer(name, d)), READS);
  layerList.forEach((d, i) => {
    const st = layerStats[i];
    if (st) layers.set(id(d), { digest: id(d), mtimeMs: st.mtimeMs });
  });
  const referrers: ReferrerLinkInfo[] = [];
  for (const subject of listDigestsSync(paths.referrersDir(name))) {
    for (const d of listDigestsSync(paths.referrersOf(name, subject))) {
      const st = statSyncOrUndefined(paths.referrer(name, subject, d));
      if (st) referrers.push({ subject: digestString(subject), digest: digestString(d), mtimeMs: st.mtimeMs });
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
async function readTag(paths: Paths, name: string, tag: string, { intern, id, reader }: Mark): Promise<TagInfo> {
  const files = tagFolder(paths.tag(name, tag));
  const read = await reader.read(files.current);
  const text = read?.data.toString('utf8').trim();
  const current = text && isDigest(text) ? intern(text) : undefined;
  const currentMtimeMs = read?.stats.mtimeMs ?? 0;
  const listed = await reader.list(files.index);
  if (listed.length === 1 && current === digestString(listed[0]!)) return { tag, current, currentMtimeMs, history: [] };
  const entryReads = await reader.map(listed, (d) => reader.read(files.entry(d)), READS);
  const entries: (HistoryInfo & { hex: string })[] = [];
  listed.forEach((d, i) => {
    const entry = entryReads[i];
    if (entry) entries.push({ digest: id(d), hex: d.hex, taggedAt: entry.data.toString('utf8').trim(), mtimeMs: entry.stats.mtimeMs });
  });
  // The order of Tree.tagHistory: newest first, ties by digest.
  entries.sort((a, b) => compareStrings(b.taggedAt, a.taggedAt) || compareStrings(a.hex, b.hex));
  const history = entries.map(({ digest, taggedAt, mtimeMs }) => ({ digest, taggedAt, mtimeMs }));
  return { tag, current, currentMtimeMs, history };
}

/** Maps filled concurrently, put back in key order so the plan reads the same every run. */
function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A revision's manifest references, read now (sync): the sweep's rescan of revisions linked since the mark. */
export function readManifest(paths: Paths, r: Pick<RevisionInfo, 'digest' | 'mediaType'>): ManifestRefs {
  return refsOf(readWithStatsSync(paths.blob(parseDigest(r.digest)))?.data, r.mediaType);
}

function internRefs(refs: ManifestRefs, intern: Intern): ManifestRefs {
  return { ...refs, blobs: refs.blobs.map(intern), children: refs.children.map(intern), ...(refs.subject && { subject: intern(refs.subject) }) };
}

function refsOf(body: Buffer | undefined, mediaType: string): ManifestRefs {
  return body ? manifestRefs(body, mediaType) : { blobs: [], children: [], error: 'manifest blob is missing' };
}
