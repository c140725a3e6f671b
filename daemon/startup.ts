// Preparing a root before serving: the top folders exist, and temp files left by
// dead processes (a crash mid-write) are removed. A live process's temp files
// (another daemon on the same root) are left alone.
import { join } from 'node:path';
import { listDir, makeFolder, removeTree } from '../shared/fsx.js';
import type { Paths } from '../shared/paths.js';

export async function prepareRoot(paths: Paths): Promise<{ removedTemps: number }> {
  for (const dir of [paths.blobsDir(), paths.repositoriesDir(), paths.tmpDir()]) await makeFolder(dir);
  let removedTemps = 0;
  for (const e of await listDir(paths.tmpDir())) {
    const pid = Number(e.name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    await removeTree(join(paths.tmpDir(), e.name));
    removedTemps++;
  }
  return { removedTemps };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
