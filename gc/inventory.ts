// The GC's picture of the tree at mark time: every revision, tag history entry,
// link, blob, signature folder and upload, with the mtime it had when read. The
// plan is computed from this data alone; the sweep compares each item's mtime
// with the one recorded here to notice that the daemon used it since.
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

export async function takeInventory(paths: Paths, onRepository?: (done: number, total: number) => void): Promise<Inventory> {
  const tree = new Tree(paths);
  const names = await tree.listRepositories();
  const repositories: RepositoryInfo[] = [];
  const manifests = new Map<string, ManifestRefs>();
  for (const [i, name] of names.entries()) {
    const repo = await readRepository(tree, name);
    for (const r of repo.revisions.values()) {
      if (!manifests.has(r.digest)) manifests.set(r.digest, await readManifest(paths, r));
    }
    repositories.push(repo);
    onRepository?.(i + 1, names.length);
  }
  const blobs = new Map<string, BlobInfo>();
  for (const d of await tree.listBlobs()) {
    const st = await statOrUndefined(paths.blob(d));
    if (st) blobs.set(digestString(d), { digest: digestString(d), size: st.size, mtimeMs: st.mtimeMs });
  }
  const signatures: SignatureFolderInfo[] = [];
  for (const payload of await tree.listSignedPayloads()) {
    const { bytes, mtimeMs } = await treeStats(paths.signaturesOf(payload));
    signatures.push({ payload: digestString(payload), bytes, mtimeMs });
  }
  return { repositories, manifests, blobs, signatures };
}

async function readRepository(tree: Tree, name: string): Promise<RepositoryInfo> {
  const paths = tree.paths;
  const revisions = new Map<string, RevisionInfo>();
  for (const d of await tree.listRevisions(name)) {
    const p = paths.revision(name, d);
    const [mediaType, st] = await Promise.all([readTextOrUndefined(p), statOrUndefined(p)]);
    if (mediaType !== undefined && st) revisions.set(digestString(d), { digest: digestString(d), mediaType: mediaType.trim(), mtimeMs: st.mtimeMs });
  }
  const tags: TagInfo[] = [];
  for (const tag of await tree.listTags(name)) {
    const current = await tree.tagCurrent(name, tag);
    const history: HistoryInfo[] = [];
    for (const h of await tree.tagHistory(name, tag)) {
      const st = await statOrUndefined(paths.tagIndexEntry(name, tag, h.digest));
      if (st) history.push({ digest: digestString(h.digest), taggedAt: h.taggedAt, mtimeMs: st.mtimeMs });
    }
    tags.push({ tag, current: current && digestString(current), history });
  }
  const layers = new Map<string, LinkInfo>();
  for (const d of await tree.listLayers(name)) {
    const st = await statOrUndefined(paths.layer(name, d));
    if (st) layers.set(digestString(d), { digest: digestString(d), mtimeMs: st.mtimeMs });
  }
  const referrers: ReferrerLinkInfo[] = [];
  for (const { subject, digest } of await tree.listReferrerLinks(name)) {
    const st = await statOrUndefined(paths.referrer(name, subject, digest));
    if (st) referrers.push({ subject: digestString(subject), digest: digestString(digest), mtimeMs: st.mtimeMs });
  }
  const uploads: UploadInfo[] = [];
  for (const id of await tree.listUploads(name)) {
    // The files' mtimes tell the last activity: the state is written at the start,
    // the data file on every chunk. startedAt is only reported.
    const { bytes, mtimeMs } = await treeStats(paths.upload(name, id));
    let startedAt: string | undefined;
    try {
      startedAt = JSON.parse((await readTextOrUndefined(paths.uploadState(name, id))) ?? '{}').startedAt;
    } catch {
      // An unreadable state file: the mtimes alone tell the upload's age.
    }
    uploads.push({ id, activeMs: mtimeMs, startedAt: typeof startedAt === 'string' ? startedAt : undefined, bytes });
  }
  return { name, revisions, tags, layers, referrers, uploads };
}

async function readManifest(paths: Paths, r: RevisionInfo): Promise<ManifestRefs> {
  const body = await readOrUndefined(paths.blob(parseDigest(r.digest)));
  if (!body) return { blobs: [], children: [], error: 'manifest blob is missing' };
  return manifestRefs(body, r.mediaType);
}
