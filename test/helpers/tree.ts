// A byte-for-byte snapshot of a storage root, to prove bad input changed nothing.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file and folder under root (tmp/ excepted: it is scratch space) with a hash of its content. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(root, p);
      if (rel === 'tmp') continue;
      if (e.isDirectory()) {
        out[`${rel}/`] = 'dir';
        await walk(p);
      } else {
        out[rel] = createHash('sha256').update(await readFile(p)).digest('hex');
      }
    }
  };
  await walk(root);
  return out;
}

/** Files (not folders) under root whose path matches `pattern`. */
export async function filesMatching(root: string, pattern: RegExp): Promise<string[]> {
  return Object.keys(await snapshot(root)).filter((p) => !p.endsWith('/') && pattern.test(p));
}
