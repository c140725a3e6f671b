// One GC at a time per root: `<root>/gc.lock` holds {pid, host, startedAt}.
//
// The lock file is written whole to a temp file and then hard-linked into place,
// so it appears with its content or not at all (link fails with EEXIST when it is
// held). A lock whose pid is dead on this host is taken over with a warning; the
// takeover itself runs under a second, short-lived lock (gc.lock.takeover) so that
// two GCs finding the same dead lock cannot both win. Liveness is judged by pid,
// not by age: a GC may legitimately run for hours on a big store, and a dead one
// should not block the next run for a timeout. (proper-lockfile judges by mtime
// only, which is why it is not used here.) On a disk with no space left the lock is
// made empty, so that a GC can still run and free space.
import { promises as fs } from 'node:fs';
import { isAlive, thisProcess } from '../shared/holder.js';
import { mkdirp, removeFile, tempPath } from '../shared/fsx.js';
import { isCode, readTextSyncOrUndefined } from '../shared/syncfs.js';
import type { Paths } from '../shared/paths.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export class LockBusyError extends Error {
  readonly holder: LockInfo | undefined;

  constructor(path: string, holder: LockInfo | undefined) {
    super(
      holder
        ? `another gc holds ${path} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); not starting`
        : `${path} is held and unreadable; remove it if no gc is running`,
    );
    this.holder = holder;
  }
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(paths: Paths, warn: (message: string) => void): Promise<Lock> {
  const mine = JSON.stringify({ ...thisProcess(), startedAt: new Date().toISOString() } satisfies LockInfo);
  const lock = paths.gcLock();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createWhole(paths, lock, mine)) {
      return {
        async release() {
          // Only our own lock (or the empty one a full disk left us): a release must
          // never drop a lock another run took over.
          const text = readTextSyncOrUndefined(lock);
          if (text === mine || text === '') await removeFile(lock);
        },
      };
    }
    const text = readTextSyncOrUndefined(lock);
    if (text === undefined) continue; // released meanwhile: try again
    const holder = parseLock(text);
    if (!holder || isAlive(holder)) throw new LockBusyError(lock, holder);
    await takeOver(paths, text, mine, () =>
      warn(`taking over ${lock} left by gc pid ${holder.pid} (started ${holder.startedAt}), which is no longer running`),
    );
  }
  throw new LockBusyError(lock, parseLock(readTextSyncOrUndefined(lock) ?? ''));
}

/** Removes the dead holder's lock, if it is still that one, under the takeover lock. */
async function takeOver(paths: Paths, stale: string, mine: string, warn: () => void): Promise<void> {
  const guard = paths.gcLockTakeover();
  if (!(await createWhole(paths, guard, mine))) {
    const other = parseLock(readTextSyncOrUndefined(guard) ?? '');
    if (other && isAlive(other)) throw new LockBusyError(guard, other);
    await removeFile(guard); // a takeover that died midway; the caller retries
    return;
  }
  try {
    if (readTextSyncOrUndefined(paths.gcLock()) === stale) {
      warn();
      await removeFile(paths.gcLock());
    }
  } finally {
    await removeFile(guard);
  }
}

/**
 * Creates `dest` with `content` in one step; false when it already exists. On a disk
 * too full for the content, `dest` is made empty instead (no data block needed): it
 * excludes other runs just the same, which report it as unreadable.
 */
async function createWhole(paths: Paths, dest: string, content: string): Promise<boolean> {
  const tmp = tempPath(paths.tmpDir());
  try {
    await mkdirp(paths.tmpDir());
    await fs.writeFile(tmp, content, { flag: 'wx' });
  } catch (err) {
    await removeFile(tmp).catch(() => undefined);
    if (!isCode(err, 'ENOSPC') && !isCode(err, 'EDQUOT')) throw err;
    return createEmpty(dest);
  }
  try {
    await fs.link(tmp, dest);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await removeFile(tmp);
  }
}

async function createEmpty(dest: string): Promise<boolean> {
  try {
    await (await fs.open(dest, 'wx')).close();
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as LockInfo;
    return Number.isSafeInteger(v.pid) && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
