// Reading the tree: what the daemon, the GC and fsck all need to know of it.
// Nothing here writes. The daemon reads through Tree, asynchronously, so a large
// folder never stalls other requests; the GC and the other one-shot commands read
// with the sync functions at the end, which are faster when nothing else waits.
// Where a read has both forms they share the rules of what counts as a tag, a
// digest, a blob (nameFolder, tagsIn, digestsIn, blobsIn).
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { listDir } from './fsx.js';
import { listDirSync, pathExistsSync, readTextSyncOrUndefined, statSyncOrUndefined } from './syncfs.js';
import { Paths, isRepositoryContentDir } from './paths.js';
import { type Digest, digestString, isDigest, isName, isTag, isUploadId, parseDigest } from './reference.js';

export interface HistoryEntry {
  digest: Digest;
  /** ISO-8601 time the tag last moved to this revision. */
  taggedAt: string;
}

export class Tree {
  readonly paths: Paths;

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** Every repository (a folder holding revisions or tags), sorted. */
  async listRepositories(): Promise<string[]> {
    return (await this.walkNames()).repositories;
  }

  /**
   * Every name folder under repositories/: the repositories, and the folders that are
   * not (yet) one — a parent like `library`, or a repository whose first push is
   * still uploading blobs. Both sorted.
   */
  async walkNames(): Promise<NameFolders> {
    const found: NameFolders = { repositories: [], others: [] };
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const [sub, name] of nameFolder(await listDir(dir), dir, prefix, found)) await walk(sub, name);
    };
    await walk(this.paths.repositoriesDir(), '');
    return sortNames(found);
  }

  /** A repository exists once it holds revisions or tags; a folder that only parents others is none. */
  async repositoryExists(name: string): Promise<boolean> {
    return pathExistsSync(this.paths.revisionsDir(name)) || pathExistsSync(this.paths.tagsDir(name));
  }

  /** Where the pull-through cache fills `name` from; undefined for a repository pushed to. */
  upstreamOf(name: string): { url: string; name: string } | undefined {
    const text = readTextSyncOrUndefined(this.paths.upstreamMark(name));
    if (text === undefined) return undefined;
    try {
      const json = JSON.parse(text) as { url?: unknown; name?: unknown };
      return { url: String(json.url ?? ''), name: String(json.name ?? '') };
    } catch {
      return { url: '', name: '' }; // a torn or edited mark still says "cached"
    }
  }

  async hasRevision(name: string, d: Digest): Promise<boolean> {
    return pathExistsSync(this.paths.revision(name, d));
  }

  /** The media type recorded with a revision, or undefined when the revision is not linked. */
  async revisionMediaType(name: string, d: Digest): Promise<string | undefined> {
    return readTextSyncOrUndefined(this.paths.revision(name, d));
  }

  async listRevisions(name: string): Promise<Digest[]> {
    return listDigests(this.paths.revisionsDir(name));
  }

  async hasLayer(name: string, d: Digest): Promise<boolean> {
    return pathExistsSync(this.paths.layer(name, d));
  }

  async listLayers(name: string): Promise<Digest[]> {
    return listDigests(this.paths.layersDir(name));
  }

  async listTags(name: string): Promise<readonly string[]> {
    return tagsIn(await listDir(this.paths.tagsDir(name)));
  }

  async tagCurrent(name: string, tag: string): Promise<Digest | undefined> {
    const text = readTextSyncOrUndefined(this.paths.tagCurrent(name, tag));
    const s = text?.trim();
    return s && isDigest(s) ? parseDigest(s) : undefined;
  }

  async inTagHistory(name: string, tag: string, d: Digest): Promise<boolean> {
    return pathExistsSync(this.paths.tagIndexEntry(name, tag, d));
  }

  /** The tags of `name` by the revision each points at now (`<alg>:<hex>` → tags, sorted). */
  async tagsAt(name: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const tag of await this.listTags(name)) {
      const d = await this.tagCurrent(name, tag);
      if (d) out.set(digestString(d), [...(out.get(digestString(d)) ?? []), tag]);
    }
    return out;
  }

  /** The tag's history, newest first. */
  async tagHistory(name: string, tag: string): Promise<HistoryEntry[]> {
    const digests = await listDigests(this.paths.tagIndexDir(name, tag));
    const entries = await Promise.all(
      digests.map(async (digest) => {
        const taggedAt = readTextSyncOrUndefined(this.paths.tagIndexEntry(name, tag, digest))?.trim();
        return taggedAt === undefined ? undefined : { digest, taggedAt };
      }),
    );
    return entries
      .filter((e): e is HistoryEntry => e !== undefined)
      .sort((a, b) => compareStrings(b.taggedAt, a.taggedAt) || compareStrings(a.digest.hex, b.digest.hex));
  }

  /** Manifests of the repository whose `subject` is `subject`. */
  async listReferrers(name: string, subject: Digest): Promise<Digest[]> {
    return listDigests(this.paths.referrersOf(name, subject));
  }

  /** Every referrer link of the repository: (subject, referring manifest) pairs. */
  async listReferrerLinks(name: string): Promise<{ subject: Digest; digest: Digest }[]> {
    const out: { subject: Digest; digest: Digest }[] = [];
    for (const subject of await listDigests(this.paths.referrersDir(name))) {
      for (const digest of await this.listReferrers(name, subject)) out.push({ subject, digest });
    }
    return out;
  }

  /** Payload digests that have a `signatures/` folder. */
  async listSignedPayloads(): Promise<Digest[]> {
    return listDigests(this.paths.signaturesDir());
  }

}

/** Digests stored as `<dir>/<alg>/<hex>`, sorted by their string form. */
export async function listDigests(dir: string): Promise<Digest[]> {
  const out: Digest[] = [];
  for (const alg of await listDir(dir)) {
    if (alg.isDirectory()) digestsIn(alg.name, await listDir(join(dir, alg.name)), out);
  }
  return sortDigests(out);
}

/**
 * listDigests, sync. A folder's link count is 2 plus its subfolders (ext4, xfs,
 * tmpfs; btrfs and merged overlayfs folders say 1): at 3, a `sha256` that lists is
 * the only algorithm folder, and one stat stands in for listing `dir` (five calls).
 * GNU find leans on the same count. The GC reads two such folders for every tag.
 */
export function listDigestsSync(dir: string): Digest[] {
  const out: Digest[] = [];
  const st = statSyncOrUndefined(dir);
  if (!st) return out;
  if (st.nlink === 3) {
    digestsIn('sha256', listDirSync(join(dir, 'sha256')), out);
    if (out.length) return sortDigests(out);
  }
  for (const alg of listDirSync(dir)) {
    if (alg.isDirectory()) digestsIn(alg.name, listDirSync(join(dir, alg.name)), out);
  }
  return sortDigests(out);
}

/** Tree.walkNames, sync. */
export function walkNamesSync(paths: Paths): NameFolders {
  const found: NameFolders = { repositories: [], others: [] };
  const walk = (dir: string, prefix: string): void => {
    for (const [sub, name] of nameFolder(listDirSync(dir), dir, prefix, found)) walk(sub, name);
  };
  walk(paths.repositoriesDir(), '');
  return sortNames(found);
}

export interface NameFolders {
  repositories: string[];
  others: string[];
}

/**
 * One step of the walk under repositories/: files the folder `prefix` (at `dir`,
 * holding `entries`) as a repository or not, and returns the folders below it that
 * may be names, as [path, name].
 */
function nameFolder(entries: Dirent[], dir: string, prefix: string, found: NameFolders): [string, string][] {
  if (prefix) {
    const isRepository = entries.some((e) => e.isDirectory() && (e.name === '_revisions' || e.name === '_tags'));
    (isRepository ? found.repositories : found.others).push(prefix);
  }
  const below: [string, string][] = [];
  for (const e of entries) {
    if (!e.isDirectory() || isRepositoryContentDir(e.name)) continue;
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    if (isName(name)) below.push([join(dir, e.name), name]);
  }
  return below;
}

function sortNames(found: NameFolders): NameFolders {
  return { repositories: found.repositories.sort(compareStrings), others: found.others.sort(compareStrings) };
}

/** Tree.listTags, sync. */
export function listTagsSync(paths: Paths, name: string): string[] {
  return tagsIn(listDirSync(paths.tagsDir(name)));
}

/** Upload ids in progress in the repository (only the GC asks). */
export function listUploadsSync(paths: Paths, name: string): string[] {
  return uploadsIn(listDirSync(paths.uploadsDir(name)));
}

/** Every blob in the store (files at `blobs/<alg>/<hex[0:2]>/<hex>` whose name is a digest); one-shot commands ask. */
export function listBlobsSync(paths: Paths): Digest[] {
  const out: Digest[] = [];
  for (const alg of listDirSync(paths.blobsDir())) {
    if (!alg.isDirectory()) continue;
    for (const prefix of listDirSync(join(paths.blobsDir(), alg.name))) {
      if (prefix.isDirectory()) blobsIn(alg.name, prefix.name, listDirSync(join(paths.blobsDir(), alg.name, prefix.name)), out);
    }
  }
  return sortDigests(out);
}

function digestsIn(alg: string, entries: Dirent[], out: Digest[]): void {
  for (const e of entries) {
    const s = `${alg}:${e.name}`;
    if (isDigest(s)) out.push(parseDigest(s));
  }
}

function blobsIn(alg: string, prefix: string, entries: Dirent[], out: Digest[]): void {
  for (const e of entries) {
    const s = `${alg}:${e.name}`;
    if (e.isFile() && isDigest(s) && e.name.startsWith(prefix)) out.push(parseDigest(s));
  }
}

function uploadsIn(entries: Dirent[]): string[] {
  return entries.filter((e) => e.isDirectory() && isUploadId(e.name)).map((e) => e.name).sort(compareStrings);
}

function tagsIn(entries: Dirent[]): string[] {
  return entries.filter((e) => e.isDirectory() && isTag(e.name)).map((e) => e.name).sort(compareStrings);
}

function sortDigests(ds: Digest[]): Digest[] {
  return ds.sort((a, b) => compareStrings(`${a.algorithm}:${a.hex}`, `${b.algorithm}:${b.hex}`));
}

/** Byte-order comparison, the order tags/list and _catalog promise (not locale order). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
