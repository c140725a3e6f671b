// Synchronous reads, and the errno tests every file helper uses. On a tree in the
// page cache one sync call costs a few microseconds, while an async one adds a
// thread-pool round trip, an eventfd wake-up and a promise. The GC (a process of its
// own) walks the tree with these, since those round trips were most of its time (its
// mark goes through the pool only while the tree is out of the page cache: gc/reader.ts). The
// daemon, whose event loop serves every request, uses only the single small reads
// (a stat, a link file of a few bytes) and walks folders async; each is named Sync,
// so no caller mistakes it for a call that yields. A missing path (ENOENT, ENOTDIR)
// is "absent", any other error throws.
//
// On a network filesystem (GlusterFS, NFS) a file another host renamed a new one
// over answers ESTALE to a handle that still names the old one, at open, at read or
// even at close. That is an expected answer, not a fault: every read here starts
// again from the path (a fresh lookup), a few times, before it gives up.
import { type Dirent, type Stats, closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** The path (or a folder on it) is not there. */
export const absent = (err: unknown): boolean => isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR');

/** A stale file handle: Node names ESTALE `Unknown system error -116` on some builds, so the errno decides. */
export function isStale(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  // fs.promises joins a failed write and the failed close after it in an AggregateError.
  if (err instanceof AggregateError) return err.errors.some(isStale);
  return isCode(err, 'ESTALE') || (err as { errno?: unknown }).errno === -116;
}

/**
 * Waits before each new attempt at a read that met a stale handle, ms. A FUSE client
 * keeps resolving a path to the inode it cached until its entry timeout (Gluster's
 * default: 1 s) lets it look the path up again; these add up past that.
 */
export const STALE_BACKOFF_MS = [0, 5, 10, 25, 50, 100, 200, 400, 800];
/** Attempts of a read that meets stale handles before the error goes to the caller. */
export const STALE_ATTEMPTS = STALE_BACKOFF_MS.length + 1;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn`, again from the path while it meets a stale handle (see the head of this
 * file). The waits block: this is for the small sync reads, and only a network
 * filesystem ever makes them wait.
 */
export function retryStale<T>(fn: () => T): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isStale(err) || attempt >= STALE_ATTEMPTS) throw err;
      const ms = STALE_BACKOFF_MS[attempt - 1]!;
      if (ms) Atomics.wait(sleeper, 0, 0, ms);
    }
  }
}

/** retryStale, for a promise: the waits do not block. */
export async function retryStaleAsync<T>(fn: () => Promise<T>): Promise<T> {
  return retryAsync(fn, isStale);
}

/** Runs `fn` again, with the same waits as retryStale, while it fails as `transient` says. */
/** What `fn` gives, or undefined when the path it works on is absent; stale handles retried. */
export async function unlessAbsent<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await retryStaleAsync(fn);
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
}

export async function retryAsync<T>(fn: () => Promise<T>, transient: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!transient(err) || attempt >= STALE_ATTEMPTS) throw err;
      const ms = STALE_BACKOFF_MS[attempt - 1]!;
      if (ms) await new Promise((ok) => setTimeout(ok, ms));
    }
  }
}

/** Directory entries, or none when the directory does not exist. */
export function listDirSync(dir: string): Dirent[] {
  try {
    return retryStale(() => readdirSync(dir, { withFileTypes: true }));
  } catch (err) {
    if (absent(err)) return [];
    throw err;
  }
}

/** Whether `p` is there: a stat that returns undefined, not an access() that throws (building the error costs more than the call). */
export function pathExistsSync(p: string): boolean {
  return statSyncOrUndefined(p) !== undefined;
}

export function statSyncOrUndefined(p: string): Stats | undefined {
  try {
    return retryStale(() => statSync(p, { throwIfNoEntry: false }));
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
}

/** fsx.treeStats, sync: total file bytes and newest mtime under a path; zeros when absent. */
export function treeStatsSync(p: string): { bytes: number; mtimeMs: number } {
  const st = statSyncOrUndefined(p);
  if (!st) return { bytes: 0, mtimeMs: 0 };
  if (!st.isDirectory()) return { bytes: st.size, mtimeMs: st.mtimeMs };
  let bytes = 0;
  let mtimeMs = st.mtimeMs;
  for (const e of listDirSync(p)) {
    const child = treeStatsSync(join(p, e.name));
    bytes += child.bytes;
    mtimeMs = Math.max(mtimeMs, child.mtimeMs);
  }
  return { bytes, mtimeMs };
}

/** A file's content and its stats from one open (open, fstat, read, close): no separate stat of the path. */
export function readWithStatsSync(p: string): { data: Buffer; stats: Stats } | undefined {
  return retryStale(() => readOnce(p));
}

function readOnce(p: string): { data: Buffer; stats: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(p, 'r');
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
  try {
    const stats = fstatSync(fd);
    const data = Buffer.allocUnsafe(stats.size);
    let n = 0;
    // Files here are written whole and renamed into place, never edited: the size holds.
    while (n < data.length) {
      const got = readSync(fd, data, n, data.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return { data: n === data.length ? data : data.subarray(0, n), stats };
  } finally {
    closeSync(fd);
  }
}

export function readTextSyncOrUndefined(p: string): string | undefined {
  return readWithStatsSync(p)?.data.toString('utf8');
}

/**
 * Slices sync work with trips through the event loop: every `every` calls to tick()
 * one of them returns a promise that resolves on the next turn, so signals, a
 * progress bar and (in tests) a daemon in the same process get their turn.
 */
export class Pacer {
  private n = 0;
  private readonly every: number;

  constructor(every = 256) {
    this.every = every;
  }

  tick(): Promise<void> | undefined {
    if (++this.n % this.every) return undefined;
    return new Promise((ok) => setImmediate(ok));
  }
}
