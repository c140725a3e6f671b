// The figures of the last `cairn gc` run, `<root>/gc-last.json`: the GC writes them
// when it ends, the daemon's /metrics reads them.
import { atomicWrite } from '../shared/fsx.js';
import type { Paths } from '../shared/paths.js';
import { readTextSyncOrUndefined } from '../shared/syncfs.js';

export interface GcFigures {
  finishedAt: string;
  durationMs: number;
  bytesFreed: number;
  removed: Record<string, number>;
  kept: { revisions: number; blobs: number };
  interrupted: boolean;
}

export async function writeGcFigures(paths: Paths, figures: GcFigures): Promise<void> {
  await atomicWrite(paths.tmpDir(), paths.gcLast(), JSON.stringify(figures, null, 2));
}

/** The last run's figures; undefined when no run finished yet, or the file does not parse. */
export async function readGcFigures(paths: Paths): Promise<GcFigures | undefined> {
  const text = readTextSyncOrUndefined(paths.gcLast());
  try {
    return text === undefined ? undefined : (JSON.parse(text) as GcFigures);
  } catch {
    return undefined;
  }
}
