// How the mark reads the tree's many small files: inline while they come from the
// page cache, through the thread pool, many at once, while they come from the disk.
// A sync read of a cached file costs a few microseconds and a trip through the pool
// several times that, so a warm tree is read inline; a cold one waits on the disk for
// every file, and only reads in flight together overlap those waits. The choice
// follows the time the inline reads take, probed again every so often.
import type { Stats } from 'node:fs';
import { readWithStats, statOrUndefined } from '../shared/fsx.js';
import { readWithStatsSync, statSyncOrUndefined } from '../shared/syncfs.js';
import { listDigests, listDigestsSync } from '../shared/tree.js';
import type { Digest } from '../shared/reference.js';
import pMap from 'p-map';

/** An inline call slower than this, on average, is waiting on the disk. */
const COLD_US = 25;
/** While cold, one call in this many is made inline, to notice the tree has become warm. */
const PROBE_EVERY = 64;

export class TreeReader {
  /** Moving average of inline calls' time, µs. */
  private inlineUs = 0;
  private calls = 0;

  read(p: string): Promise<{ data: Buffer; stats: Stats } | undefined> | { data: Buffer; stats: Stats } | undefined {
    return this.inlineNow() ? this.timed(() => readWithStatsSync(p)) : readWithStats(p);
  }

  stat(p: string): Promise<Stats | undefined> | Stats | undefined {
    return this.inlineNow() ? this.timed(() => statSyncOrUndefined(p)) : statOrUndefined(p);
  }

  list(dir: string): Promise<Digest[]> | Digest[] {
    return this.inlineNow() ? this.timed(() => listDigestsSync(dir)) : listDigests(dir);
  }

  /**
   * Maps `items` in order: one at a time while reads are inline (there is no wait to
   * overlap, and each promise in flight costs more than the read), `concurrency` at
   * once, a thousand items at a time, while they wait on the disk.
   */
  async map<T, R>(items: Iterable<T>, fn: (item: T) => Promise<R> | R, concurrency: number): Promise<R[]> {
    const list = [...items];
    const out = new Array<R>(list.length);
    for (let i = 0; i < list.length; ) {
      if (this.warm()) {
        out[i] = await fn(list[i]!);
        i++;
        continue;
      }
      const chunk = list.slice(i, i + 1024);
      (await pMap(chunk, fn, { concurrency })).forEach((r, k) => (out[i + k] = r));
      i += chunk.length;
    }
    return out;
  }

  private warm(): boolean {
    return this.inlineUs < COLD_US;
  }

  private inlineNow(): boolean {
    return this.warm() || ++this.calls % PROBE_EVERY === 0;
  }

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.inlineUs = 0.9 * this.inlineUs + 0.1 * (performance.now() - t0) * 1000;
    }
  }
}
