// In-memory caches, only where they pay, and never the source of truth: the tree
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
// reads its own writes without waiting for any event. A cache is a part a store
// holds (Repositories, ManifestStore), not a layer over it: without one, the store
// reads the tree each time.
import type { BigIntStats } from 'node:fs';
import { statSync } from 'node:fs';

import { isSchema1 } from '../shared/manifest.js';
import { isCode, retryStale } from '../shared/syncfs.js';
import { type Digest, digestString } from '../shared/reference.js';
import { type NameFolders, compareStrings } from '../shared/tree.js';

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
    st = retryStale(() => statSync(file, { bigint: true, throwIfNoEntry: false }));
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
export class Lru<V> {
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

  /** Entries and bytes held: what the caps bound. */
  held(): { entries: number; bytes: number } {
    return { entries: this.map.size, bytes: this.bytes };
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.bytes -= e.bytes;
    this.map.delete(key);
  }
}

const tagKey = (name: string, tag: string) => `${name}:${tag}`;

/**
 * What a daemon remembers of repositories: tag → current digest and the sorted tag
 * list, each validated by a stat; the catalog while a watcher runs. The store that
 * holds it (Repositories) asks it first and tells it of its own writes.
 */
export class TagCache {
  private readonly tags = new Lru<{ v: Validator; digest: Digest | undefined }>(20_000);
  /** Sorted tag names by repository, validated by a stat of `_tags/` (a tag comes and goes by rename). */
  private readonly tagLists = new Lru<{ v: Validator; tags: readonly string[] }>(1000, 64 * 1024 * 1024);
  private catalog: { repositories: string[]; others: Set<string> } | undefined;
  /** Bumped on every change, so a catalog walk that raced a change is not kept. */
  private catalogGeneration = 0;
  /** Set by the watcher once it is ready, cleared if it fails: no watcher, no catalog cache. */
  catalogCaching = false;

  /** The digest in `file` (a tag's `current`), read by `read` only when the file changed. */
  async current(name: string, tag: string, file: string, read: () => Promise<Digest | undefined>): Promise<Digest | undefined> {
    const key = tagKey(name, tag);
    const v = await validator(file);
    if (!v) {
      this.tags.delete(key);
      return undefined;
    }
    const hit = this.tags.get(key);
    if (hit && same(hit.v, v)) return hit.digest;
    // Stat first, read second: if the file changes in between, the entry is stale at once.
    const digest = await read();
    this.tags.set(key, { v, digest });
    return digest;
  }

  /**
   * The tags of `name` (its `_tags` folder is `dir`), listed by `list` only when the
   * folder changed. The cached list itself, not a copy (a page of 100 would copy them all).
   */
  async tagList(name: string, dir: string, list: () => Promise<readonly string[]>): Promise<readonly string[]> {
    const v = await validator(dir);
    if (!v) return [];
    const hit = this.tagLists.get(name);
    if (hit && same(hit.v, v)) return hit.tags;
    const tags = await list();
    this.tagLists.set(name, { v, tags }, tags.reduce((n, t) => n + t.length + 16, 0));
    return tags;
  }

  /** What the caches hold (their caps: 20,000 tags; 1,000 tag lists or 64 MiB). */
  held(): { tags: { entries: number; bytes: number }; tagLists: { entries: number; bytes: number } } {
    return { tags: this.tags.held(), tagLists: this.tagLists.held() };
  }

  /** This daemon moved or removed the tag. */
  forgetTag(name: string, tag: string): void {
    this.tags.delete(tagKey(name, tag));
  }

  /**
   * The repositories, from the cached catalog while the watcher runs; `walk` builds
   * it, `exists` tells when a parent folder has become a repository.
   */
  async repositories(walk: () => Promise<NameFolders>, exists: (name: string) => Promise<boolean>): Promise<string[]> {
    if (!this.catalogCaching) return (await walk()).repositories;
    if (!this.catalog) {
      const generation = this.catalogGeneration;
      const walked = await walk();
      if (generation !== this.catalogGeneration || !this.catalogCaching) return walked.repositories;
      this.catalog = { repositories: walked.repositories, others: new Set(walked.others) };
    }
    // A name folder becomes a repository when `_tags` or `_revisions` appears in it,
    // which the watcher does not see (it watches no underscored folder): ask them.
    for (const name of this.catalog.others) {
      if (await exists(name)) this.noteRepository(name);
    }
    return [...(this.catalog?.repositories ?? (await walk()).repositories)];
  }

  /** Another process changed the folders under repositories/ (the watcher says so). */
  dropCatalog(): void {
    this.catalog = undefined;
    this.catalogGeneration++;
  }

  /** This daemon's own write (or a check) made `name` a repository: add it, keeping the order. */
  noteRepository(name: string): void {
    this.catalogGeneration++;
    const c = this.catalog;
    if (!c) return;
    c.others.delete(name);
    if (c.repositories.includes(name)) return;
    c.repositories = [...c.repositories, name].sort(compareStrings);
  }
}

/** A revision as the manifest store resolves it (ManifestStore's Revision). */
interface Revision {
  digest: Digest;
  mediaType: string;
  size: number;
  body?: Buffer;
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
export class ManifestCache {
  private readonly bodies = new Lru<CachedManifest>(4096, 32 * 1024 * 1024);

  /** What it holds (its caps: 4,096 manifests or 32 MiB). */
  held(): { entries: number; bytes: number } {
    return this.bodies.held();
  }

  /**
   * The revision `digest` of `name` (its link is `link`), from memory when the link is
   * unchanged; else `resolve` reads it and `readBody` its bytes, which are kept.
   */
  async revision(
    name: string,
    digest: Digest,
    link: string,
    resolve: () => Promise<Revision>,
    readBody: (r: Revision) => Promise<Buffer>,
  ): Promise<Revision> {
    const key = `${name}@${digestString(digest)}`;
    const v = await validator(link);
    const hit = this.bodies.get(key);
    if (v && hit && same(v, hit.v)) return { digest, mediaType: hit.mediaType, size: hit.size, body: hit.body };
    const r = await resolve();
    if (!v || isSchema1(r.mediaType) || r.digest.hex !== digest.hex) return r; // the tag moved meanwhile: not cached
    const body = r.body ?? (await readBody(r));
    this.bodies.set(key, { v, mediaType: r.mediaType, size: r.size, body }, body.length);
    return { ...r, body };
  }
}
