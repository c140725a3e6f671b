// One writer at a time moves a tag, across processes and hosts on one root: a
// tag's history is ordered by the time each entry records, and its newest entry must
// be `current`. Two writers that each stamp an entry and then move `current` could
// otherwise finish in the opposite order to the one their stamps say.
//
// The lock is `_tags/<tag>/lock`, made with O_EXCL (atomic on local filesystems and
// on NFS v3+), as git locks a ref with `<ref>.lock`. It names its holder (host, pid,
// a unique id). A holder that died leaves it behind: one on this host whose pid is
// gone is broken at once; any other once it is older than STALE_MS, far longer than
// the few small writes made under it. A lock is never needed to read a tag.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeFd, openFd, removeFile, writeFd } from '../shared/fsx.js';
import { isCode, readTextSyncOrUndefined, statSyncOrUndefined } from '../shared/syncfs.js';
import { type Holder, isAlive, thisProcess } from '../shared/holder.js';

export const STALE_MS = 10_000;

/**
 * Runs `fn` holding the lock at `file` (in a tag's folder). Undefined, without
 * running `fn`, when the folder is not there: the tag does not exist (or went just now).
 */
export async function withTagLock<T>(file: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
  const mine = { ...thisProcess(), id: randomUUID() };
  const text = JSON.stringify(mine);
  for (let wait = 1; ; wait = Math.min(wait * 2, 32)) {
    const made = await create(file, text);
    if (made === 'absent') return undefined;
    if (made === 'made') break;
    await breakIfStale(file);
    await sleep(wait * (0.5 + Math.random()));
  }
  try {
    return { value: await fn() };
  } finally {
    // Ours only: a lock broken as stale and taken by another writer is not ours to drop.
    let held: string | undefined;
    try {
      held = readTextSyncOrUndefined(file);
    } catch {
      held = undefined; // unreadable: not provably ours
    }
    if (held === text) await removeFile(file).catch(() => undefined);
  }
}

/**
 * Creates the lock. Its content is written after the create: on a full disk the
 * empty lock still excludes others, and is judged by its age alone.
 */
async function create(file: string, text: string): Promise<'made' | 'held' | 'absent'> {
  let fd: number;
  try {
    fd = await openFd(file, 'wx');
  } catch (err) {
    if (isCode(err, 'EEXIST')) return 'held';
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return 'absent';
    throw err;
  }
  try {
    await writeFd(fd, text);
  } catch (err) {
    if (!isCode(err, 'ENOSPC') && !isCode(err, 'EDQUOT')) {
      await closeFd(fd).catch(() => undefined);
      await removeFile(file).catch(() => undefined);
      throw err;
    }
  }
  await closeFd(fd);
  return 'made';
}

/**
 * Removes a lock whose holder is certainly gone. The lock is read twice, and removed
 * only if it is still the one judged: a lock taken anew in between is left alone.
 */
async function breakIfStale(file: string): Promise<void> {
  const st = statSyncOrUndefined(file);
  const text = readTextSyncOrUndefined(file);
  if (!st || text === undefined) return;
  const holder = parseHolder(text);
  const dead = holder !== undefined && !isAlive(holder);
  if (!dead && Date.now() - st.mtimeMs < STALE_MS) return;
  const again = statSyncOrUndefined(file);
  if (!again || again.ino !== st.ino || again.mtimeMs !== st.mtimeMs || readTextSyncOrUndefined(file) !== text) return;
  await fs.unlink(file).catch((err) => {
    if (!isCode(err, 'ENOENT')) throw err;
  });
}

function parseHolder(text: string): Holder | undefined {
  try {
    const v = JSON.parse(text) as Holder;
    return typeof v.host === 'string' && Number.isSafeInteger(v.pid) ? v : undefined;
  } catch {
    return undefined;
  }
}
