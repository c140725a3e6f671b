// Preparing a root before serving: the top folders exist, and temp files left by
// dead processes (a crash mid-write) are removed. Temp names say whose they are
// (holder.tempName): this host's are removed when their process is gone; another
// host's, which cannot be asked, only once they are a day old (no write of ours runs
// that long). A store mounted read-only is served as it is: there is nothing to
// clean, and pulls need nothing written.
import { join } from 'node:path';
import { listDir, makeFolder, removeTree } from '../shared/fsx.js';
import { isCode, statSyncOrUndefined } from '../shared/syncfs.js';
import { isAlive, tempOwner, thisProcess } from '../shared/holder.js';
import type { Paths } from '../shared/paths.js';

/** Another host's temp file is certainly abandoned past this age. */
export const FOREIGN_TEMP_MS = 24 * 60 * 60 * 1000;

export async function prepareRoot(paths: Paths): Promise<{ removedTemps: number }> {
  for (const dir of [paths.blobsDir(), paths.repositoriesDir(), paths.tmpDir()]) await makeFolder(dir);
  let removedTemps = 0;
  for (const e of await listDir(paths.tmpDir())) {
    const owner = tempOwner(e.name);
    if (owner?.here && isAlive({ host: thisProcess().host, pid: owner.pid })) continue;
    if (owner && !owner.here && (statSyncOrUndefined(join(paths.tmpDir(), e.name))?.mtimeMs ?? 0) > Date.now() - FOREIGN_TEMP_MS) continue;
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
