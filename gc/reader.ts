// How the mark reads the tree's many small files: inline while they come from the
// page cache, through the thread pool, many at once, while they come from the disk.
// A sync read of a cached file costs a few microseconds and a trip through the pool
// several times that, so a warm tree is read inline; a cold one waits on the disk for
// every file, and only reads in flight together overlap those waits. The choice
// follows how many of the recent inline calls took disk time, probed again every
// so often while the reads go through the pool.
import type { Stats } from 'node:fs';
import { readWithStats, statOrUndefined } from '../shared/fsx.js';
import { readWithStatsSync, statSyncOrUndefined } from '../shared/syncfs.js';
import { listDigests, listDigestsSync } from '../shared/tree.js';
import type { Digest } from '../shared/reference.js';
import pMap from 'p-map';

/** An inline call slower than this waited on the disk (a cached read takes a few µs, one from this disk 80-120). */
const SLOW_US = 40;
/** Cold while at least this many of the last 16 inline calls were slow: one call stretched by the scheduler is not the disk. */
const SLOW_OF_16 = 8;
/** While cold, one call in this many is made inline, to notice the tree has become warm. */
const PROBE_EVERY = 64;
/** Items handed to the pool at a time while cold. */
const CHUNK = 256;

export class TreeReader {
  /** The last 16 inline calls, one bit each: slow or not. */
  private slow = 0;
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
   * once, a few hundred items at a time, while they wait on the disk.
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
      const chunk = list.slice(i, i + CHUNK);
      (await pMap(chunk, fn, { concurrency })).forEach((r, k) => (out[i + k] = r));
      i += chunk.length;
    }
    return out;
  }

  private warm(): boolean {
    let n = 0;
    for (let bits = this.slow; bits; bits &= bits - 1) n++;
    return n < SLOW_OF_16;
  }

  private inlineNow(): boolean {
    return this.warm() || ++this.calls % PROBE_EVERY === 0;
  }

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const slow = (performance.now() - t0) * 1000 > SLOW_US ? 1 : 0;
      this.slow = ((this.slow << 1) | slow) & 0xffff;
    }
  }
}
