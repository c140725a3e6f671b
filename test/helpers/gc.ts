// Running the real `cairn gc` (the built CLI, as a child process) over a test
// root, and ageing a root's files past a grace period with utimes.
import { execFile } from 'node:child_process';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cairn.cjs', import.meta.url));

export interface GcRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The parsed report when the run had --json and succeeded. */
  report: any;
}

export async function cairnGc(root: string, args: string[] = [], opts: { stdin?: string } = {}): Promise<GcRun> {
  return new Promise((ok, fail) => {
    const child = execFile(process.execPath, [CLI, 'gc', '--root', root, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && typeof err.code !== 'number') return fail(err);
      let report: unknown;
      if (args.includes('--json') && code === 0) report = JSON.parse(stdout);
      ok({ code, stdout, stderr, report });
    });
    child.stdin!.end(opts.stdin ?? '');
  });
}

/** Sets every file's and folder's mtime under root `ms` into the past: older than a grace period. */
export async function ageTree(root: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      await utimes(p, then, then);
    }
  };
  await walk(root);
}

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
