// Running the real `cairn gc` (the built CLI, as a child process) over a test
// root, and ageing a root's files past a grace period with utimes.
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { cairn } from './cli.js';

export interface GcRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The parsed report when the run had --json and succeeded. */
  report: any;
}

export async function cairnGc(root: string, args: string[] = [], opts: { stdin?: string } = {}): Promise<GcRun> {
  const run = await cairn(['gc', '--root', root, ...args], opts);
  return { ...run, report: args.includes('--json') && run.code === 0 ? JSON.parse(run.stdout) : undefined };
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
