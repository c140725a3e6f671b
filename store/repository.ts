// Writing a repository's links: revisions, tags and their histories, layers,
// referrers. Reads come from the shared Tree. Order matters for crash safety:
// a tag's history entry is written before `current` moves to it. A tag that exists
// moves only under its lock (taglock.ts), so its history's order is the order in
// which `current` moved.
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWrite, atomicWriteAll, ensureLink, fsyncDir, fsyncFolderOf, fsyncNewFolders, mkdirp, removeFile, removeTree, renameMakingParent, tempPath, touch, writeNewFile } from '../shared/fsx.js';
import { isCode, pathExistsSync, readTextSyncOrUndefined } from '../shared/syncfs.js';
import { tagFolder } from '../shared/paths.js';
import { Tree } from '../shared/tree.js';
import { Paths } from '../shared/paths.js';
import { type Digest, digestString } from '../shared/reference.js';
import type { TagCache } from './cache.js';
import { withTagLock } from './taglock.js';
import { type LogCursor, type LogPage, appendTagLog, logLine, readTagLogPage, writeTagLog } from './taglog.js';

export class Repositories extends Tree {
  /** What this daemon remembers of tags and the catalog; none for a one-shot command. */
  readonly cache: TagCache | undefined;

  constructor(paths: Paths, cache?: TagCache) {
    super(paths);
    this.cache = cache;
  }

  override async tagCurrent(name: string, tag: string): Promise<Digest | undefined> {
    const read = () => super.tagCurrent(name, tag);
    return this.cache ? this.cache.current(name, tag, this.paths.tagCurrent(name, tag), read) : read();
  }

  override async listTags(name: string): Promise<readonly string[]> {
    const list = () => super.listTags(name);
    return this.cache ? this.cache.tagList(name, this.paths.tagsDir(name), list) : list();
  }

  override async listRepositories(): Promise<string[]> {
    if (!this.cache) return super.listRepositories();
    return this.cache.repositories(() => this.walkNames(), (name) => this.repositoryExists(name));
  }

  /**
   * Links a blob into the repository, or refreshes the link's use time (GC grace) when
   * it is there. Created first, touched only when it exists: when a blob is uploaded
   * or mounted, its link is nearly always missing. Should a GC move the link away
   * between the failed create and the touch, it is created again.
   * Then the link's folder is fsynced, also when the link was there: it (or the blob a
   * mount found) may be a concurrent upload's, not yet durable. With `sync: false` that
   * fsync is left to the caller's next one (BlobStore.adopt) where fsx.fsyncFolderOf allows.
   */
  async linkLayer(name: string, d: Digest, opts: { sync?: boolean } = {}): Promise<void> {
    const link = this.paths.layer(name, d);
    while (!(await ensureLink(link)) && !(await touch(link)));
    await fsyncFolderOf(link, opts);
  }

  /** Marks a layer link as just used (GC grace); false when the repository has no such link. */
  async touchLayer(name: string, d: Digest): Promise<boolean> {
    return touch(this.paths.layer(name, d));
  }

  /** Marks a revision link as just used (GC grace); false when the revision is not linked. */
  async touchRevision(name: string, d: Digest): Promise<boolean> {
    return touch(this.paths.revision(name, d));
  }

  async unlinkLayer(name: string, d: Digest): Promise<boolean> {
    return removeFile(this.paths.layer(name, d));
  }

  /**
   * Links a revision; its file records the media type so a HEAD needs no parsing.
   * An identical re-PUT refreshes the link's mtime instead of rewriting it, so a
   * concurrent GC that is about to unlink this old revision sees it in use.
   */
  async linkRevision(name: string, d: Digest, mediaType: string): Promise<void> {
    if (!(await this.touchLinkedRevision(name, d, mediaType))) await atomicWrite(this.paths.tmpDir(), this.paths.revision(name, d), mediaType);
    this.cache?.noteRepository(name);
  }

  /** linkRevision's write as one file of an atomicWriteAll (after the manifest's blob). */
  revisionFile(name: string, d: Digest, mediaType: string): [dest: string, data: string] {
    return [this.paths.revision(name, d), mediaType];
  }

  /** fsyncs a revision link's folder: what was renamed before, there or elsewhere, is then durable. */
  async syncRevision(name: string, d: Digest): Promise<void> {
    await fsyncDir(dirname(this.paths.revision(name, d)));
  }

  /**
   * Refreshes a revision link's use time when it is there with this media type; false
   * otherwise. The touch comes first: for a new revision it costs a stat, where the
   * read would throw.
   */
  async touchLinkedRevision(name: string, d: Digest, mediaType: string): Promise<boolean> {
    return (await this.touchRevision(name, d)) && (await this.revisionMediaType(name, d)) === mediaType;
  }

  async unlinkRevision(name: string, d: Digest): Promise<boolean> {
    return removeFile(this.paths.revision(name, d));
  }

  /** Links a referrer; `sync: false` as for linkLayer (ManifestStore.put always ends with an fsync). */
  async linkReferrer(name: string, subject: Digest, d: Digest, opts: { sync?: boolean } = {}): Promise<void> {
    const link = this.paths.referrer(name, subject, d);
    await ensureLink(link);
    await fsyncFolderOf(link, opts);
  }

  async unlinkReferrer(name: string, subject: Digest, d: Digest): Promise<void> {
    await removeFile(this.paths.referrer(name, subject, d));
  }

  /**
   * Moves a tag to a revision: history entry first, then `current`. A new tag is
   * created whole; an existing one moves under its lock, stamped later than the entry
   * of the revision it leaves, so the newest entry is always `current`, whatever the
   * clocks of the hosts on the root say. Always ends with an fsync, which makes what
   * the caller renamed before durable too (ManifestStore.put leaves a new revision's
   * fsync to it).
   */
  async setTag(name: string, tag: string, d: Digest): Promise<void> {
    try {
      await this.moveTag(name, tag, d);
    } finally {
      this.cache?.forgetTag(name, tag);
    }
    this.cache?.noteRepository(name);
  }

  private async moveTag(name: string, tag: string, d: Digest): Promise<void> {
    for (;;) {
      if (await this.createTag(name, tag, d, new Date())) return;
      const moved = await this.withTagLock(name, tag, async () => {
        const at = await this.nextStamp(name, tag);
        await appendTagLog(this.paths.tagLog(name, tag), at.toISOString(), d); // the log first: it may list more than index/, never less
        await atomicWriteAll(this.paths.tmpDir(), [
          [this.paths.tagIndexEntry(name, tag, d), at.toISOString()], // the history entry first, then `current`
          [this.paths.tagCurrent(name, tag), digestString(d)],
        ]);
      });
      if (moved) return;
      // The tag was removed between the two: create it again.
    }
  }

  /**
   * Runs `fn` holding the tag's lock, for a change of its `current` or history made
   * of several steps (a rollback, a removal). Undefined when the tag does not exist.
   */
  async withTagLock<T>(name: string, tag: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    return withTagLock(this.paths.tagLock(name, tag), fn);
  }

  /** Now, or just after the time of the revision `current` names, whichever is later. */
  private async nextStamp(name: string, tag: string): Promise<Date> {
    const now = Date.now();
    const current = await this.tagCurrent(name, tag);
    const text = current && readTextSyncOrUndefined(this.paths.tagIndexEntry(name, tag, current));
    const last = text ? Date.parse(text.trim()) : NaN;
    return new Date(Number.isFinite(last) && last >= now ? last + 1 : now);
  }

  /**
   * A new tag appears whole: its folder (history entry and `current`) is built as one
   * folder under tmp/ and renamed into place in one step. Written in place, a kill
   * between the history entry and `current` left a tag that tags/list showed and no
   * GET could resolve (found by test/crash.test.ts). False when the tag already exists
   * (the rename fails on a non-empty folder; another daemon may have just created it).
   *
   * Durability: both files are fsynced, then the rename and `_tags` are. The staged
   * folders themselves are fsynced only where new folders do not follow their files'
   * fsyncs (shared/durability.ts; ext4 and xfs need none). This path is the whole
   * cost of a new tag's PUT: keep its trips through the thread pool few.
   */
  private async createTag(name: string, tag: string, d: Digest, at: Date): Promise<boolean> {
    const dest = this.paths.tag(name, tag);
    if (pathExistsSync(dest)) return false;
    const staged = tempPath(this.paths.tmpDir());
    const files = tagFolder(staged);
    let moved = false;
    try {
      // One mkdir each, not mkdir -p of the deepest: that fails twice on the way up first.
      await mkdirp(staged); // tmp/ is nearly always there: one call
      await Promise.all([
        writeNewFile(files.current, digestString(d)),
        writeNewFile(files.log, logLine(at.toISOString(), d)),
        (async () => {
          await fs.mkdir(files.index);
          await fs.mkdir(files.entryDir(d));
          await writeNewFile(files.entry(d), at.toISOString());
        })(),
      ]);
      await fsyncNewFolders([staged, files.index, files.entryDir(d)]);
      moved = await renameFolder(staged, dest);
      if (!moved) return false;
      await fsyncDir(this.paths.tagsDir(name));
      return true;
    } finally {
      if (!moved) await removeTree(staged).catch(() => undefined); // the cause is what failed above, not the clean-up
    }
  }

  /**
   * Writes (or re-dates) a history entry without moving `current`: an import rebuilding
   * a tag's past. Its log no longer follows the order of time; the import rewrites it
   * when done (rebuildTagLog).
   */
  async recordHistory(name: string, tag: string, d: Digest, at: Date): Promise<void> {
    await atomicWrite(this.paths.tmpDir(), this.paths.tagIndexEntry(name, tag, d), at.toISOString());
  }

  /** Rewrites a tag's log from its entries (the caller holds the tag's lock). */
  async rebuildTagLog(name: string, tag: string): Promise<void> {
    await writeTagLog(this.paths.tmpDir(), this.paths.tagLog(name, tag), await this.tagHistory(name, tag));
  }

  /**
   * A page of a tag's history, newest first, reading what it returns (taglog.ts):
   * from the log when it can be trusted, else from every entry. A tag with no log
   * (a root from before logs) gets one, under its lock, the first time it is read.
   */
  async tagHistoryPage(name: string, tag: string, n: number, after?: LogCursor): Promise<LogPage> {
    const current = await this.tagCurrent(name, tag);
    const file = this.paths.tagLog(name, tag);
    const page = readTagLogPage(file, current, n, after, (d) => readTextSyncOrUndefined(this.paths.tagIndexEntry(name, tag, d)));
    if (page) return page;
    const all = await this.tagHistory(name, tag);
    if (!pathExistsSync(file) && all.length) {
      await this.withTagLock(name, tag, () => this.rebuildTagLog(name, tag)).catch(() => undefined); // an index: a failure costs speed only
    }
    let start = 0;
    if (after) {
      start = all.findIndex((e) => digestString(e.digest) === after.digest) + 1;
      if (start === 0) return { entries: [] };
    }
    const entries = all.slice(start, start + n);
    const more = all.length > start + n;
    return { entries, ...(more && { next: { digest: digestString(entries.at(-1)!.digest), offset: -1 } }) };
  }

  /** Points `current` at a revision already in the tag's history (no new history entry). */
  async pointTag(name: string, tag: string, d: Digest): Promise<void> {
    try {
      await atomicWrite(this.paths.tmpDir(), this.paths.tagCurrent(name, tag), digestString(d));
    } finally {
      this.cache?.forgetTag(name, tag);
    }
  }

  async dropFromHistory(name: string, tag: string, d: Digest): Promise<boolean> {
    return removeFile(this.paths.tagIndexEntry(name, tag, d));
  }

  /** Removes a tag and its history at once: rename out of the tree, then delete. */
  async removeTag(name: string, tag: string): Promise<boolean> {
    const doomed = tempPath(this.paths.tmpDir());
    try {
      await mkdirp(this.paths.tmpDir());
      await fs.rename(this.paths.tag(name, tag), doomed);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    } finally {
      this.cache?.forgetTag(name, tag);
    }
    await removeTree(doomed);
    return true;
  }
}

/** Renames a folder to `dest`; false when dest is already there (non-empty: someone else created it first). */
async function renameFolder(src: string, dest: string): Promise<boolean> {
  try {
    await renameMakingParent(src, dest);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOTEMPTY') || isCode(err, 'EEXIST')) return false;
    // sshfs (SFTP) answers a rename onto an existing folder with EPERM.
    if (isCode(err, 'EPERM') && pathExistsSync(dest)) return false;
    throw err;
  }
}
