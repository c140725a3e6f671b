// The GC's picture of the tree at mark time: every revision, tag history entry,
// link, blob, signature folder and upload, with the mtime it had when read. The
// plan is computed from this data alone; the sweep compares each item's mtime
// with the one recorded here to notice that the daemon used it since.
import pMap from 'p-map';
import { readOrUndefined, readTextOrUndefined, statOrUndefined, treeStats } from '../shared/fsx.js';
import { Tree } from '../shared/layout.js';
import type { Paths } from '../shared/paths.js';
import { digestString, parseDigest } from '../shared/reference.js';
import { type ManifestRefs, manifestRefs } from './refs.js';

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
  /** Newest first. */
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

export interface Inventory {
  repositories: RepositoryInfo[];
  /** Parsed references of every linked revision's manifest, by digest. */
  manifests: Map<string, ManifestRefs>;
  blobs: Map<string, BlobInfo>;
  signatures: SignatureFolderInfo[];
}

/** File reads and stats in flight at once: the tree is many small files, and each await is a thread-pool round trip. */
const READ_CONCURRENCY = 32;
const each = <T, R>(items: Iterable<T>, fn: (item: T) => Promise<R>) => pMap(items, fn, { concurrency: READ_CONCURRENCY });

export async function takeInventory(paths: Paths, onRepository?: (done: number, total: number) => void): Promise<Inventory> {
  const tree = new Tree(paths);
  const names = await tree.listRepositories();
  let done = 0;
  const repositories = await pMap(
    names,
    async (name) => {
      const repo = await readRepository(tree, name);
      onRepository?.(++done, names.length);
      return repo;
    },
    { concurrency: 4 },
  );
  const manifests = new Map<string, ManifestRefs>();
  const unique = new Map(repositories.flatMap((repo) => [...repo.revisions.values()].map((r) => [r.digest, r] as const)));
  await each(unique.values(), async (r) => void manifests.set(r.digest, await readManifest(paths, r)));
  const blobs = new Map<string, BlobInfo>();
  await each(await tree.listBlobs(), async (d) => {
    const st = await statOrUndefined(paths.blob(d));
    if (st) blobs.set(digestString(d), { digest: digestString(d), size: st.size, mtimeMs: st.mtimeMs });
  });
  const signatures = await each(await tree.listSignedPayloads(), async (payload) => {
    const { bytes, mtimeMs } = await treeStats(paths.signaturesOf(payload));
    return { payload: digestString(payload), bytes, mtimeMs };
  });
  return { repositories, manifests: sortedMap(manifests), blobs: sortedMap(blobs), signatures };
}

async function readRepository(tree: Tree, name: string): Promise<RepositoryInfo> {
  const paths = tree.paths;
  const revisions = new Map<string, RevisionInfo>();
  await each(await tree.listRevisions(name), async (d) => {
    const p = paths.revision(name, d);
    const [mediaType, st] = await Promise.all([readTextOrUndefined(p), statOrUndefined(p)]);
    if (mediaType !== undefined && st) revisions.set(digestString(d), { digest: digestString(d), mediaType: mediaType.trim(), mtimeMs: st.mtimeMs });
  });
  const tags: TagInfo[] = await each(await tree.listTags(name), async (tag) => {
    const [current, entries] = await Promise.all([tree.tagCurrent(name, tag), tree.tagHistory(name, tag)]);
    const stats = await Promise.all(entries.map((h) => statOrUndefined(paths.tagIndexEntry(name, tag, h.digest))));
    const history: HistoryInfo[] = [];
    for (const [i, h] of entries.entries()) {
      const st = stats[i];
      if (st) history.push({ digest: digestString(h.digest), taggedAt: h.taggedAt, mtimeMs: st.mtimeMs });
    }
    return { tag, current: current && digestString(current), history };
  });
  const layers = new Map<string, LinkInfo>();
  await each(await tree.listLayers(name), async (d) => {
    const st = await statOrUndefined(paths.layer(name, d));
    if (st) layers.set(digestString(d), { digest: digestString(d), mtimeMs: st.mtimeMs });
  });
  const referrers = (
    await each(await tree.listReferrerLinks(name), async ({ subject, digest }) => {
      const st = await statOrUndefined(paths.referrer(name, subject, digest));
      return st && { subject: digestString(subject), digest: digestString(digest), mtimeMs: st.mtimeMs };
    })
  ).filter((r): r is ReferrerLinkInfo => r !== undefined);
  const uploads = await each(await tree.listUploads(name), async (id): Promise<UploadInfo> => {
    // The files' mtimes tell the last activity: the state is written at the start,
    // the data file on every chunk. startedAt is only reported.
    const { bytes, mtimeMs } = await treeStats(paths.upload(name, id));
    let startedAt: string | undefined;
    try {
      startedAt = JSON.parse((await readTextOrUndefined(paths.uploadState(name, id))) ?? '{}').startedAt;
    } catch {
      // An unreadable state file: the mtimes alone tell the upload's age.
    }
    return { id, activeMs: mtimeMs, startedAt: typeof startedAt === 'string' ? startedAt : undefined, bytes };
  });
  return { name, revisions: sortedMap(revisions), tags, layers: sortedMap(layers), referrers, uploads };
}

/** Maps filled concurrently, put back in key order so the plan reads the same every run. */
function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function readManifest(paths: Paths, r: RevisionInfo): Promise<ManifestRefs> {
  const body = await readOrUndefined(paths.blob(parseDigest(r.digest)));
  if (!body) return { blobs: [], children: [], error: 'manifest blob is missing' };
  return manifestRefs(body, r.mediaType);
}
