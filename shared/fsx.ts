// Filesystem primitives. Every write lands whole or not at all: data goes to a
// temp file under <root>/tmp (same filesystem), is fsynced, renamed into place,
// and the directory is fsynced so the rename itself survives a crash. How many
// folders that takes depends on the filesystem (shared/durability.ts): `sync:
// false` below leaves a folder's fsync to a later one, which only a filesystem
// that commits metadata in order allows; elsewhere every folder is fsynced.
//
// Calls that only read what the kernel holds in memory (stat, reading a link file of
// a few bytes, opening what exists, closing) run inline, on the event loop: through
// libuv's pool each would also wait behind its four threads' fsyncs. Calls that change
// the tree stay on the pool: with a journal each joins a transaction and may wait for
// a commit, which inline would stall every request. Without a journal
// (durability().changesWait false) a touch only edits memory and runs inline too. The
// price of the inline reads: on a filesystem whose metadata reads are slow (NFS) they
// hold the loop. (Measurements: bench/TRIED.md, "small calls inline".)
import { type Stats, close, closeSync, constants, fdatasync, fstatSync, fsync, open, openSync, promises as fs, read, utimesSync, write, writev } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { durability } from './durability.js';
import { tempName } from './holder.js';
import { absent, isCode, isStale, pathExistsSync, retryAsync, retryStaleAsync, statSyncOrUndefined, unlessAbsent } from './syncfs.js';


// Descriptor calls through the callback API: fs.promises wraps each descriptor in a
// FileHandle, which costs several times the CPU per open + close.
export const openFd = promisify(open);
export const writeFd = promisify(write);
export const writevFd = promisify(writev);
export const fsyncFd = promisify(fsync);
export const fdatasyncFd = promisify(fdatasync);
export const closeFd = promisify(close);
const readFd = promisify(read);

/** Opens `p` (inline: no journal), fsyncs it through the pool, closes it. */
async function syncOpened(p: string, flags: number | string): Promise<void> {
  const fd = openSync(p, flags);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function tempPath(tmpDir: string): string {
  return join(tmpDir, tempName());
}

/**
 * fsyncs a folder, so renames and creates in it survive a crash. Callers that ask
 * while an fsync of the same folder is running share the next one (group commit):
 * it starts after their change, so it covers it, and sixteen tag PUTs into one
 * repository cost two or three fsyncs of `_tags`, not sixteen, and hold fewer of
 * libuv's four threads.
 */
export function fsyncDir(dir: string): Promise<void> {
  const running = dirSyncs.get(dir);
  if (running) return (running.next ??= running.done.then(() => startDirSync(dir)));
  return startDirSync(dir);
}

interface DirSync {
  /** Settles (never rejects) when this fsync has ended. */
  done: Promise<void>;
  /** The fsync that starts once this one ends, shared by everyone who asked meanwhile. */
  next?: Promise<void>;
}
const dirSyncs = new Map<string, DirSync>();
const noop = () => undefined;

function startDirSync(dir: string): Promise<void> {
  const sync = syncPath(dir);
  const entry: DirSync = {
    done: sync.then(noop, noop).then(() => {
      if (dirSyncs.get(dir) === entry && !entry.next) dirSyncs.delete(dir);
    }),
  };
  dirSyncs.set(dir, entry);
  return sync;
}

async function syncPath(dir: string): Promise<void> {
  await syncOpened(dir, constants.O_RDONLY);
}

export async function fsyncFile(file: string): Promise<void> {
  await syncOpened(file, 'r+');
}

/** True when a folder's fsync may be left to a later one (`sync: false` on a filesystem that orders metadata). */
function mayDefer(opts: { sync?: boolean }): boolean {
  return opts.sync === false && durability().ordered;
}

/** fsyncs the folder holding `p` (a link just made or found), unless `sync: false` may leave it to a later fsync. */
export async function fsyncFolderOf(p: string, opts: { sync?: boolean } = {}): Promise<void> {
  if (!mayDefer(opts)) await fsyncDir(dirname(p));
}

/** fsyncs each folder, or only the last where one fsync commits every change before it. */
export async function fsyncDirs(dirs: string[]): Promise<void> {
  const wanted = durability().ordered ? dirs.slice(-1) : [...new Set(dirs)];
  await Promise.all(wanted.map((d) => fsyncDir(d)));
}

/**
 * mkdir -p of `dir`. Where new folders do not follow their files' fsyncs
 * (shared/durability.ts), the folders above each one made are fsynced, so the new
 * names survive; `dir` itself is the caller's to fsync, with what it puts there.
 * With `nameLater`, so is the folder holding `dir`'s own name (an upload session,
 * made durable by its first chunk).
 */
export async function makeFolder(dir: string, opts: { nameLater?: boolean } = {}): Promise<void> {
  const first = await mkdirp(dir);
  if (first === undefined || (opts.nameLater && first === dir)) return;
  await syncNewFolders(first, opts.nameLater ? dirname(dir) : dir);
}

/**
 * fsyncs `dirs`, folders a write made or that hold the names of folders it made, where
 * new folders do not follow their files' fsyncs (shared/durability.ts); elsewhere
 * nothing: the fsync of a file inside already made them durable.
 */
export async function fsyncNewFolders(dirs: string[]): Promise<void> {
  if (durability().newFoldersFollow) return;
  await Promise.all(dirs.map((d) => fsyncDir(d)));
}

/**
 * mkdir -p; the first folder it made, if any. fs.promises.mkdir's recursive mode
 * reports any failure to make a folder (ENOSPC, EDQUOT, EROFS) as ENOENT; then the
 * first missing folder is made alone, which throws the real cause.
 */
export async function mkdirp(dir: string, mode?: number): Promise<string | undefined> {
  try {
    // A FUSE client (GlusterFS) can answer ENOTDIR for a moment while another host
    // creates the same folders: asked again from the path, it sees them.
    return await retryAsync(() => fs.mkdir(dir, { recursive: true, mode }), (err) => isStale(err) || isCode(err, 'ENOTDIR'));
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    let missing = dir;
    while (dirname(missing) !== missing && !statSyncOrUndefined(dirname(missing))) missing = dirname(missing);
    await fs.mkdir(missing, { mode }); // the real error
    return fs.mkdir(dir, { recursive: true, mode }); // made meanwhile: go on
  }
}

/** After a mkdir -p that made `first` … `last`: fsyncs the folders that hold their names, where that is needed. */
async function syncNewFolders(first: string, last: string): Promise<void> {
  const holders = [dirname(first)];
  for (let d = last; d !== first && d !== dirname(d); d = dirname(d)) holders.push(dirname(d));
  await fsyncNewFolders(holders);
}

/**
 * rename(2), creating dest's parent folder when it is missing. Tries the rename
 * first: the parent is nearly always there, and a mkdir -p before every rename
 * costs two more calls through the thread pool.
 */
export async function renameMakingParent(src: string, dest: string): Promise<void> {
  try {
    await fs.rename(src, dest);
  } catch (err) {
    if (!isCode(err, 'ENOENT') || !pathExistsSync(src)) throw err;
    await makeFolder(dirname(dest));
    await fs.rename(src, dest);
  }
}

/** Writes `data` to `dest` atomically: temp file, fsync, rename, fsync the directory. */
export async function atomicWrite(tmpDir: string, dest: string, data: string | Uint8Array): Promise<void> {
  await atomicWriteAll(tmpDir, [[dest, data]]);
}

/**
 * Writes several files atomically, in order: every temp file is written and fsynced
 * at once, then each is renamed into place in the order given, so a reader never
 * sees a later file without the earlier ones; then their folders are fsynced. Where
 * the filesystem commits metadata in order (the ext4 and xfs journals commit all
 * that came before; README "Faults") the last folder's fsync makes every rename
 * durable: two waits for the disk, whatever the number of files. With `sync: false`
 * that fsync is left to a later write whose own fsync comes after (mayDefer).
 */
export async function atomicWriteAll(tmpDir: string, files: [dest: string, data: string | Uint8Array][], opts: { sync?: boolean } = {}): Promise<void> {
  const temps = files.map(() => tempPath(tmpDir));
  try {
    await Promise.all(files.map(([, data], i) => writeNewFile(temps[i]!, data)));
    for (const [i, [dest]] of files.entries()) await renameMakingParent(temps[i]!, dest);
    if (!mayDefer(opts)) await fsyncDirs(files.map(([dest]) => dirname(dest)));
  } catch (err) {
    await Promise.all(temps.map((t) => removeFile(t).catch(() => undefined))); // the cause is err, not a failed clean-up
    throw err;
  }
}

/** Creates a file that must not exist yet (O_EXCL), writes it and fsyncs it. */
export async function writeNewFile(p: string, data: string | Uint8Array): Promise<void> {
  await createFile(p, data, { sync: true });
}

/** open(2) flags of a new file (O_EXCL); with O_DSYNC each write returns once it is on disk. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
const CREATE_DSYNC = CREATE | constants.O_DSYNC;

/**
 * Creates a file that must not exist yet (O_EXCL) with `data`; durable when asked.
 * Durable means opened O_DSYNC: the write returns once data and size are on disk,
 * what an fdatasync after it would give (ext4 runs the same fsync path), without
 * the second trip through the thread pool (small images: 4 fewer per image).
 */
export async function createFile(p: string, data: string | Uint8Array = '', opts: { sync?: boolean } = {}): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = await openFd(p, opts.sync && bytes.length ? CREATE_DSYNC : CREATE);
  try {
    for (let done = 0; done < bytes.length; ) done += (await writeFd(fd, bytes, done, bytes.length - done)).bytesWritten;
    if (opts.sync && !bytes.length) await fsyncFd(fd); // no write to carry O_DSYNC
  } finally {
    closeSync(fd); // inline: closing a file neither truncated nor unlinked asks nothing of the journal
  }
}

/**
 * Writes `data` to `file` unless it exists, durably: a finished temp file (mode
 * `mode`) is linked into place, so two processes racing on one root agree on
 * whichever landed first, and a reader never sees it half written. Returns what
 * `file` holds afterwards.
 */
export async function createOnce(tmpDir: string, file: string, data: Uint8Array, mode: number): Promise<Buffer> {
  const existing = await readOrUndefined(file);
  if (existing) return existing;
  await mkdirp(dirname(file), 0o700);
  await mkdirp(tmpDir);
  const tmp = tempPath(tmpDir);
  try {
    const fd = await openFd(tmp, CREATE, mode);
    try {
      for (let done = 0; done < data.length; ) done += (await writeFd(fd, data, done, data.length - done)).bytesWritten;
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    await fs.link(tmp, file);
    await fsyncDir(dirname(file));
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return fs.readFile(file);
}

/**
 * Creates an empty marker file (a link) if absent; true when it did. An empty file is
 * complete the moment it exists; its folder is the caller's to fsync (with what else
 * it wrote there, or, where mayDefer allows, with a later write).
 */
export async function ensureLink(dest: string): Promise<boolean> {
  try {
    await createFile(dest);
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    if (!isCode(err, 'ENOENT')) throw err;
    await makeFolder(dirname(dest));
    return ensureLink(dest);
  }
  return true;
}

export async function readOrUndefined(p: string): Promise<Buffer | undefined> {
  return unlessAbsent(() => fs.readFile(p));
}

/**
 * syncfs.readWithStatsSync through the thread pool: for a walk that reads many files
 * at once, so that their waits on a cold disk overlap (the GC's mark).
 */
export async function readWithStats(p: string): Promise<{ data: Buffer; stats: Stats } | undefined> {
  return retryStaleAsync(async () => {
    let fd: number;
    try {
      fd = await openFd(p, 'r');
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
    try {
      const stats = fstatSync(fd); // the open read the inode: inline
      const data = Buffer.allocUnsafe(stats.size);
      let n = 0;
      while (n < data.length) {
        const got = (await readFd(fd, data, n, data.length - n, null)).bytesRead;
        if (got === 0) break;
        n += got;
      }
      return { data: n === data.length ? data : data.subarray(0, n), stats };
    } finally {
      closeSync(fd);
    }
  });
}

/** A stat through the thread pool, undefined when absent (see readWithStats). */
export async function statOrUndefined(p: string): Promise<Stats | undefined> {
  return unlessAbsent(() => fs.stat(p));
}

/** Directory entries, or none when the directory does not exist. */
export async function listDir(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await retryStaleAsync(() => fs.readdir(dir, { withFileTypes: true }));
  } catch (err) {
    if (absent(err)) return [];
    throw err;
  }
}

/** Removes a file; true when it was there. */
export async function removeFile(p: string): Promise<boolean> {
  try {
    await fs.unlink(p);
    return true;
  } catch (err) {
    if (absent(err)) return false;
    throw err;
  }
}

/**
 * Sets a file's mtime to now; true when the file was there. This one call is both
 * "does it exist" and "I am using it": a concurrent `cairn gc` moves a doomed file
 * aside and then re-reads its mtime, so a touch either lands before the move (and
 * the GC sees it and puts the file back) or fails here (and the caller writes anew
 * or refuses). A separate existsSync() followed by a touch would leave a gap between the two.
 */
export async function touch(p: string): Promise<boolean> {
  // A stat first, since a new blob or revision is touched before it is written: a
  // failing utimes throws, and building that error costs more than the stat. Only
  // "absent" is taken from it, which is safe to act on (the caller writes anew);
  // "there" is still decided by the utimes.
  if (!statSyncOrUndefined(p)) return false;
  const now = new Date();
  try {
    if (durability().changesWait) await fs.utimes(p, now, now);
    else utimesSync(p, now, now);
    return true;
  } catch (err) {
    if (absent(err)) return false;
    // A read-only store: nothing can remove the file either, so it is there to rely on.
    if (isCode(err, 'EROFS')) return true;
    throw err;
  }
}

/** Total file bytes and newest mtime under a path (a folder's own mtime included); zeros when absent. */
export async function treeStats(p: string): Promise<{ bytes: number; mtimeMs: number }> {
  const st = statSyncOrUndefined(p);
  if (!st) return { bytes: 0, mtimeMs: 0 };
  if (!st.isDirectory()) return { bytes: st.size, mtimeMs: st.mtimeMs };
  let bytes = 0;
  let mtimeMs = st.mtimeMs;
  for (const e of await listDir(p)) {
    const child = await treeStats(join(p, e.name));
    bytes += child.bytes;
    mtimeMs = Math.max(mtimeMs, child.mtimeMs);
  }
  return { bytes, mtimeMs };
}

export async function removeTree(p: string): Promise<void> {
  await fs.rm(p, { recursive: true, force: true });
}

