// Removing a file the daemon may be using at this very moment, without a gap.
//
// The daemon's "this exists and I rely on it" is one utimes() call on the path
// (fsx.touch): blob HEAD, mount, upload completion, manifest PUT (on every layer
// link, blob and child revision it references) and an identical re-PUT (on the
// revision link). The GC's removal is one rename() of the same path into its trash
// folder, after which it reads the mtime of the file it moved. Both calls are atomic
// on the path, so one of them comes first:
//   - the touch first: the moved file carries the new mtime, the GC sees it and
//     renames the file back before deleting anything;
//   - the rename first: the touch fails, and the daemon writes the file anew
//     (blob, link) or refuses the request (MANIFEST_BLOB_UNKNOWN, 404), so nothing
//     it acknowledges relies on what the GC removed.
// Whatever a crashed GC leaves in its trash is put back by the next GC run
// (restoring something unreferenced is harmless; the next sweep finds it again),
// except into a tag deleted since: that would bring back a tag with no `current`.
//
// On a disk with no space left, the trash's folders cannot be made: then an item is
// deleted where it is, right after its mtime is read again. The window between that
// read and the unlink is the price of freeing a full disk; every write that would
// need the item fails there anyway.
import { promises as fs, type Stats, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { listDir, mkdirp, removeTree } from '../shared/fsx.js';
import { type Paths, tagFolder } from '../shared/paths.js';
import { isCode, statSyncOrUndefined } from '../shared/syncfs.js';
import { tempName, tempOwner } from '../shared/holder.js';

export type Outcome = 'removed' | 'spared' | 'gone';

export class Trash {
  readonly paths: Paths;
  readonly run: string;
  /** Trash folders this run made: only close() removes them, so each is made once. */
  private readonly made = new Set<string>();
  /**
   * Deletions of what was decided, in flight on the thread pool. An unlink of a file
   * with data waits on the disk (~0.1-0.5 ms on ext4 with discard); several at once
   * overlap those waits with each other and with the sweep (2000 unlinks: 1.2 s one
   * by one, 0.13 s sixteen at a time). A crash before they finish leaves the files in
   * the trash, which the next run puts back, as for any interrupted run.
   */
  private readonly deleting: Promise<void>[] = [];
  private failure: unknown;
  /** Items deleted where they were, the disk being too full to move them aside. */
  deletedInPlace = 0;

  constructor(paths: Paths) {
    this.paths = paths;
    this.run = tempName();
  }

  /**
   * Removes `p` unless `inUse` says it is needed, asked once before and once after
   * the file (or folder) is moved aside; after the move it sees the moved file's
   * stats, so a touch that came just before the move is noticed.
   * The file calls are sync (see shared/syncfs.ts): three or four per item.
   */
  async retire(p: string, inUse: (st: Stats, at: string) => Promise<boolean> | boolean): Promise<Outcome> {
    const before = statSyncOrUndefined(p);
    if (!before) return 'gone';
    if (await inUse(before, p)) return 'spared';
    const parked = this.paths.gcTrashed(this.run, p);
    const dir = dirname(parked);
    try {
      if (!this.made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        this.made.add(dir);
      }
      renameSync(p, parked);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return 'gone';
      if (isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT')) return this.deleteInPlace(p, before, inUse);
      throw err;
    }
    const after = statSync(parked);
    if (await inUse(after, parked)) {
      await putBack(parked, p, this.paths);
      return 'spared';
    }
    const deleted = after.isDirectory() ? removeTree(parked) : fs.unlink(parked);
    this.deleting.push(deleted.catch((err) => void (this.failure ??= err)));
    return 'removed';
  }

  /** retire() on a full disk: the item goes where it is, unless it was used since `before`. */
  private async deleteInPlace(p: string, before: Stats, inUse: (st: Stats, at: string) => Promise<boolean> | boolean): Promise<Outcome> {
    const now = statSyncOrUndefined(p);
    if (!now) return 'gone';
    if (now.mtimeMs !== before.mtimeMs || (await inUse(now, p))) return 'spared';
    this.deletedInPlace++;
    rmSync(p, { recursive: true, force: true });
    return 'removed';
  }

  /** Waits for the deletions, then drops this run's (now empty) trash folders. */
  async close(): Promise<void> {
    await Promise.all(this.deleting);
    if (this.failure) throw this.failure;
    // Deepest first, each depth at once: an rmdir waits on the disk like an unlink.
    const run = this.paths.gcTrash(this.run);
    const byDepth = new Map<number, string[]>();
    const seen = new Set<string>();
    for (const made of this.made) {
      for (let d = made; d.length > run.length && !seen.has(d); d = dirname(d)) {
        seen.add(d);
        const depth = d.split(sep).length;
        if (!byDepth.has(depth)) byDepth.set(depth, []);
        byDepth.get(depth)!.push(d);
      }
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      await Promise.all(byDepth.get(depth)!.map((d) => fs.rmdir(d).catch(() => undefined))); // what stays, the rm below takes
    }
    rmSync(run, { recursive: true, force: true });
  }
}

/**
 * Puts back everything earlier GC runs left in gc-trash (they crashed between a
 * move and its decision). The caller holds the GC lock, so no live run owns them.
 */
export async function recoverTrash(paths: Paths): Promise<number> {
  let restored = 0;
  for (const e of await listDir(paths.gcTrashDir())) {
    if (!e.isDirectory() || !tempOwner(e.name)) continue; // not a run's folder: not ours to judge
    const dir = paths.gcTrash(e.name);
    for (const top of await listDir(dir)) {
      const src = join(dir, top.name);
      restored += await putBack(src, paths.gcRestored(e.name, src), paths);
    }
    await removeTree(dir);
  }
  return restored;
}

/**
 * Moves `src` back to `dest`. Where the daemon has meanwhile written `dest` anew,
 * its copy wins (content-addressed blobs and links are equal; a history entry it
 * wrote is newer); folders are merged file by file. Nothing goes back into a tag
 * that is no longer there. Returns how many files moved.
 */
async function putBack(src: string, dest: string, paths: Paths): Promise<number> {
  const there = statSyncOrUndefined(dest);
  if (!there) {
    const tag = paths.tagFolderHolding(dest);
    if (tag && !statSyncOrUndefined(tagFolder(tag).current)) {
      await removeTree(src); // the tag was deleted since: its history goes with it
      return 0;
    }
    await mkdirp(dirname(dest));
    await fs.rename(src, dest);
    return 1;
  }
  const st = await fs.stat(src);
  if (!(there.isDirectory() && st.isDirectory())) {
    await removeTree(src);
    return 0;
  }
  let n = 0;
  for (const e of await listDir(src)) n += await putBack(join(src, e.name), join(dest, e.name), paths);
  await removeTree(src);
  return n;
}
