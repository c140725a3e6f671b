// Preparing a root before serving: the top folders exist, and temp files left by
// dead processes (a crash mid-write) are removed. A live process's temp files
// (another daemon on the same root) are left alone. A store mounted read-only is
// served as it is: there is nothing to clean, and pulls need nothing written.
import { join } from 'node:path';
import { listDir, makeFolder, removeTree } from '../shared/fsx.js';
import { isCode } from '../shared/syncfs.js';
import { isAlive, thisProcess } from '../shared/holder.js';
import type { Paths } from '../shared/paths.js';

export async function prepareRoot(paths: Paths): Promise<{ removedTemps: number }> {
  for (const dir of [paths.blobsDir(), paths.repositoriesDir(), paths.tmpDir()]) await makeFolder(dir);
  let removedTemps = 0;
  for (const e of await listDir(paths.tmpDir())) {
    const pid = Number(e.name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive({ host: thisProcess().host, pid })) continue;
    try {
      await removeTree(join(paths.tmpDir(), e.name));
    } catch (err) {
      if (isCode(err, 'EROFS')) break;
      throw err;
    }
    removedTemps++;
  }
  return { removedTemps };
}
