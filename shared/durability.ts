// What a power loss keeps on the filesystem under a root, which decides how many
// folders a write must fsync. Two properties matter:
//   - ordered: one fsync commits every metadata change made before it, anywhere on
//     the filesystem (a journal: ext4 with its journal, xfs). Then a write that
//     renamed into several folders fsyncs only the last one.
//   - new folders follow: a file's fsync also makes the new folders above it
//     durable (ext4 always: without a journal its fsync walks up the new parents).
//     Then folders built under tmp/ and renamed whole (a new tag) need no fsyncs of
//     their own.
// ext4 without a journal has only the second: every folder a write renames or
// creates into is fsynced. Anything else (btrfs, overlayfs, NFS, tmpfs, unknown) has
// neither: the folders holding new folders' names are fsynced too. Found on the
// bench VM, whose ext4 runs without a journal: there the one-fsync shortcut could
// lose a new revision's blob and link on a power loss.
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface Durability {
  ordered: boolean;
  newFoldersFollow: boolean;
  /**
   * A metadata change may wait for the disk: it joins a journal transaction, which a
   * running commit holds up. Without a journal (ext4 without one) it only edits memory.
   */
  changesWait: boolean;
  /** What was found, for the start-up log: "ext4 without a journal on /dev/vda". */
  filesystem: string;
}

/** The model when nothing is known: fsync every folder. */
export const UNKNOWN: Durability = { ordered: false, newFoldersFollow: false, changesWait: true, filesystem: 'unknown filesystem' };

export interface Mount {
  mountPoint: string;
  /** major:minor of the device. */
  device: string;
  fstype: string;
  source: string;
}

/** The mount that holds `path` (a real path): the longest mount point above it, the last mounted if stacked. */
export function mountOf(mountinfo: string, path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const mountPoint = unescape(fields[4]!);
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (!inside || (best && mountPoint.length < best.mountPoint.length)) continue;
    best = { mountPoint, device: fields[2]!, fstype: fields[dash + 1]!, source: unescape(fields[dash + 2] ?? '') };
  }
  return best;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The model for a mount. `ext4Journal` answers whether an ext4 device (its
 * /sys/block name) has a journal: undefined when it cannot tell.
 */
export function durabilityOf(mount: Mount, ext4Journal: (device: string) => boolean | undefined): Durability {
  const on = `${mount.fstype} on ${mount.source}`;
  if (mount.fstype === 'xfs') return { ordered: true, newFoldersFollow: true, changesWait: true, filesystem: on };
  if (mount.fstype !== 'ext4') return { ...UNKNOWN, filesystem: on };
  const journal = ext4Journal(mount.device);
  if (journal === undefined) return { ordered: false, newFoldersFollow: true, changesWait: true, filesystem: `${on} (journal unknown)` };
  return journal
    ? { ordered: true, newFoldersFollow: true, changesWait: true, filesystem: `ext4 with a journal on ${mount.source}` }
    : { ordered: false, newFoldersFollow: true, changesWait: false, filesystem: `ext4 without a journal on ${mount.source}` };
}

/** Filesystems other hosts may write to beside this one, each client with caches of its own. */
const SHARED = /^(nfs4?|cifs|smb3|ceph|fuse\.(glusterfs|ceph-fuse|sshfs|s3fs|juicefs)|glusterfs|9p|lustre|gpfs|beegfs)$/;

/** The type of the filesystem under `root` when it is one several hosts share, else undefined. */
export function sharedFilesystem(root: string): string | undefined {
  try {
    const fstype = mountOf(readFileSync('/proc/self/mountinfo', 'utf8'), existingAbove(root))?.fstype;
    return fstype && SHARED.test(fstype) ? fstype : undefined;
  } catch {
    return undefined;
  }
}

/** Reads /proc and /sys for the filesystem under `root` (or its nearest existing folder above). */
export function detectDurability(root: string): Durability {
  try {
    const mount = mountOf(readFileSync('/proc/self/mountinfo', 'utf8'), existingAbove(root));
    return mount ? durabilityOf(mount, ext4HasJournal) : UNKNOWN;
  } catch {
    return UNKNOWN; // not Linux, or /proc hidden
  }
}

function existingAbove(p: string): string {
  for (let d = resolve(p); ; d = dirname(d)) {
    try {
      return realpathSync(d);
    } catch (err) {
      if (d === dirname(d)) throw err;
    }
  }
}

/** /sys/fs/ext4/<dev>/journal_task names the journal's thread, or `<none>`; else /proc/fs/jbd2 lists `<dev>-8`. */
function ext4HasJournal(device: string): boolean | undefined {
  try {
    const name = basename(realpathSync(`/sys/dev/block/${device}`));
    try {
      return readFileSync(`/sys/fs/ext4/${name}/journal_task`, 'utf8').trim() !== '<none>';
    } catch {
      return readdirSync('/proc/fs/jbd2').some((j) => j.startsWith(`${name}-`));
    }
  } catch {
    return undefined;
  }
}

/** `--fsync`: what to assume, or `auto` to detect. */
export const FSYNC_MODES = ['auto', 'journal', 'every-folder'] as const;
export type FsyncMode = (typeof FSYNC_MODES)[number];

/** The model for a root under a `--fsync` mode. */
export function durabilityFor(root: string, mode: FsyncMode = 'auto'): Durability {
  if (mode === 'journal') return { ordered: true, newFoldersFollow: true, changesWait: true, filesystem: 'a journal (--fsync journal)' };
  if (mode === 'every-folder') return { ...UNKNOWN, filesystem: 'every folder (--fsync every-folder)' };
  return detectDurability(root);
}

/** The rule a model gives, for logs: "every folder a write renames into (ext4 without a journal on /dev/vda)". */
export function describeRule(d: Durability): string {
  const rule = d.ordered ? 'one folder per write' : d.newFoldersFollow ? 'every folder a write renames into' : 'every folder a write changes';
  return `${rule} (${d.filesystem})`;
}

let inUse: Durability | undefined;

/**
 * Sets the model writes follow, for the whole process (the fsx helpers are plain
 * functions), once: the first root opened decides (a daemon's `--inbox` imports open
 * the same root again). Until then every folder is fsynced.
 */
export function useDurability(d: Durability): Durability {
  inUse ??= d;
  return inUse;
}

export function durability(): Durability {
  return inUse ?? UNKNOWN;
}
