// Real small filesystems for fault tests: a loop-mounted ext4 image or a sized
// tmpfs, made and torn down by the test, and a disk filled to its last byte.
// Mounting needs root; where it is refused the suites skip, saying why, except in
// CI, where they must run.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mount {
  dir: string;
  /** Remounts read-only (true) or read-write (false). */
  remount(readOnly: boolean): void;
  close(): Promise<void>;
}

/** Why this machine cannot mount for a test, or false when it can. In CI it must. */
export function cannotMount(): string | false {
  if (process.getuid?.() === 0) return false;
  if (process.env.CI) throw new Error('the fault tests mount small filesystems and need root in CI');
  return 'mounting a test filesystem needs root';
}

/** A fresh ext4 of `mib` MiB on a loop device, without reserved blocks (root cannot escape a full disk). */
export async function ext4(mib: number): Promise<Mount> {
  const base = await mkdtemp(join(tmpdir(), 'cairn-ext4-'));
  const image = join(base, 'disk.img');
  const dir = join(base, 'mnt');
  execFileSync('truncate', ['-s', `${mib}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  execFileSync('mkdir', [dir]);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  return mounted(base, dir);
}

export async function tmpfs(mib: number): Promise<Mount> {
  const base = await mkdtemp(join(tmpdir(), 'cairn-tmpfs-'));
  const dir = join(base, 'mnt');
  execFileSync('mkdir', [dir]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  return mounted(base, dir);
}

function mounted(base: string, dir: string): Mount {
  return {
    dir,
    remount(readOnly) {
      execFileSync('mount', ['-o', `remount,${readOnly ? 'ro' : 'rw'}`, dir]);
    },
    async close() {
      execFileSync('umount', [dir]);
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** Bytes a non-root writer could still write there. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Fills the filesystem at `dir` to its last byte: one file, written in smaller and smaller pieces until not one byte fits. */
export async function fill(dir: string): Promise<void> {
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    for (let chunk = 1 << 20; chunk >= 1; chunk >>= 1) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
