
import { isCode } from '../shared/syncfs.js';// In-memory caches, only where they pay, and never the source of truth: the tree
// is (docs/storage.md), and another process (a second daemon, `cairn gc`, an import) may
// change it at any time.
//
// Two ways to keep a cache honest (bench/cache.ts measures them; docs/faults.md has
// the figures):
//
//  - tag → current digest and manifest bytes by digest are *validated by a stat*:
//    each entry remembers the inode, size and mtime/ctime (ns) of the file it was read
//    from (`_tags/<tag>/current`, `_revisions/<alg>/<hex>`). Every write goes through
//    temp + rename, so any change gives the path a new inode. One stat() replaces the
//    open/read/close of `current`, the read of the revision link, the stat and read of
//    the manifest blob; it needs no watch at all, and sees another process's change at
//    once (no watcher latency, no inotify limit, no lost events).
//  - the catalog (a walk of every folder under repositories/) has no single file to
//    stat; it is cached only while the chokidar watcher (daemon/watch.ts) runs, and
//    dropped whenever a folder appears or goes under repositories/.
//
// This daemon's own writes drop (tags) or extend (catalog) entries directly, so it
// reads its own writes without waiting for any event.
import type { BigIntStats } from 'node:fs';
import { statSync } from 'node:fs';

import { isSchema1 } from '../shared/manifest.js';
import { type Digest, type Reference, digestString } from '../shared/reference.js';
import { ManifestStore, type Revision } from './manifests.js';
import { Repositories } from './repository.js';

/** What identifies one version of a file written by rename. */
interface Validator {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One stat, made inline like the other small reads in shared/fsx.ts: it is on every GET. */
async function validator(file: string): Promise<Validator | undefined> {
  let st: BigIntStats | undefined;
  try {
    st = statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    if (isCode(err, 'ENOTDIR')) return undefined;
    throw err;
  }
  if (!st) return undefined;
  return { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function same(a: Validator, b: Validator): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** A Map that forgets its least recently used entries past a count or a byte budget. */
class Lru<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes = Infinity,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, bytes = 0): void {
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.map.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [k] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(k);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.bytes -= e.bytes;
    this.map.delete(key);
  }
}

const tagKey = (name: string, tag: string) => `${name}:${tag}`;

/** The repository store with a stat-validated tag cache and a watcher-invalidated catalog. */
export class CachedRepositories extends Repositories {
  private readonly tags = new Lru<{ v: Validator; digest: Digest | undefined }>(20_000);
  /** Sorted tag names by repository, validated by a stat of `_tags/` (a tag comes and goes by rename). */
  private readonly tagLists = new Lru<{ v: Validator; tags: string[] }>(1000, 64 * 1024 * 1024);
  private catalog: { repositories: string[]; others: Set<string> } | undefined;
  /** Bumped on every change, so a catalog walk that raced a change is not kept. */
  private catalogGeneration = 0;
  /** Set by the watcher once it is ready, cleared if it fails: no watcher, no catalog cache. */
  catalogCaching = false;

  override async tagCurrent(name: string, tag: string): Promise<Digest | undefined> {
    const key = tagKey(name, tag);
    const v = await validator(this.paths.tagCurrent(name, tag));
    if (!v) {
      this.tags.delete(key);
      return undefined;
    }
    const hit = this.tags.get(key);
    if (hit && same(hit.v, v)) return hit.digest;
    // Stat first, read second: if the file changes in between, the entry is stale at once.
    const digest = await super.tagCurrent(name, tag);
    this.tags.set(key, { v, digest });
    return digest;
  }

  override async listTags(name: string): Promise<string[]> {
    const v = await validator(this.paths.tagsDir(name));
    if (!v) return [];
    const hit = this.tagLists.get(name);
    if (hit && same(hit.v, v)) return [...hit.tags];
    const tags = await super.listTags(name);
    this.tagLists.set(name, { v, tags }, tags.reduce((n, t) => n + t.length + 16, 0));
    return [...tags];
  }

  override async setTag(name: string, tag: string, d: Digest): Promise<void> {
    await super.setTag(name, tag, d);
    this.tags.delete(tagKey(name, tag));
    this.noteRepository(name);
  }

  override async pointTag(name: string, tag: string, d: Digest): Promise<void> {
    await super.pointTag(name, tag, d);
    this.tags.delete(tagKey(name, tag));
  }

  override async removeTag(name: string, tag: string): Promise<boolean> {
    const removed = await super.removeTag(name, tag);
    this.tags.delete(tagKey(name, tag));
    return removed;
  }

  override async linkRevision(name: string, d: Digest, mediaType: string): Promise<void> {
    await super.linkRevision(name, d, mediaType);
    this.noteRepository(name);
  }

  override async listRepositories(): Promise<string[]> {
    if (!this.catalogCaching) return super.listRepositories();
    if (!this.catalog) {
      const generation = this.catalogGeneration;
      const walked = await this.walkNames();
      if (generation !== this.catalogGeneration || !this.catalogCaching) return walked.repositories;
      this.catalog = { repositories: walked.repositories, others: new Set(walked.others) };
    }
    // A name folder becomes a repository when `_tags` or `_revisions` appears in it,
    // which the watcher does not see (it watches no underscored folder): ask them.
    for (const name of this.catalog.others) {
      if (await this.repositoryExists(name)) this.noteRepository(name);
    }
    return [...(this.catalog?.repositories ?? (await super.listRepositories()))];
  }

  /** Another process changed the folders under repositories/ (the watcher says so). */
  dropCatalog(): void {
    this.catalog = undefined;
    this.catalogGeneration++;
  }

  /** This daemon's own write (or a check) made `name` a repository: add it, keeping the order. */
  private noteRepository(name: string): void {
    this.catalogGeneration++;
    const c = this.catalog;
    if (!c) return;
    c.others.delete(name);
    if (c.repositories.includes(name)) return;
    c.repositories = [...c.repositories, name].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

interface CachedManifest {
  v: Validator;
  mediaType: string;
  size: number;
  body: Buffer;
}

/**
 * Manifest bytes and media type by (repository, digest), validated by a stat of the
 * revision link. Schema1 revisions are not cached: what they serve depends on the
 * signatures stored beside them, which change without the link changing.
 */
export class CachedManifestStore extends ManifestStore {
  private readonly bodies = new Lru<CachedManifest>(4096, 32 * 1024 * 1024);

  override async resolve(name: string, ref: Reference): Promise<Revision> {
    const digest = ref.digest ?? (await this.repos.tagCurrent(name, ref.tag));
    if (!digest) return super.resolve(name, ref); // answers MANIFEST_UNKNOWN
    const key = `${name}@${digestString(digest)}`;
    const v = await validator(this.repos.paths.revision(name, digest));
    const hit = this.bodies.get(key);
    if (v && hit && same(v, hit.v)) return { digest, mediaType: hit.mediaType, size: hit.size, body: hit.body };
    const r = await super.resolve(name, ref);
    if (!v || isSchema1(r.mediaType) || r.digest.hex !== digest.hex) return r; // the tag moved meanwhile: not cached
    const body = r.body ?? (await this.blobs.readAll(r.digest));
    this.bodies.set(key, { v, mediaType: r.mediaType, size: r.size, body }, body.length);
    return { ...r, body };
  }
}
