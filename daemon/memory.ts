// Keeping the daemon's memory low: request-body chunks freed sooner, and a cap on
// how far the old generation grows (capHeapGrowth, at the end).
//
// Node hands every chunk of a request body to JavaScript in a buffer of its own whose
// bytes live outside V8's heap. V8 frees them only when it collects, and their small
// JS objects fill the young generation so slowly that tens of MiB of dead chunks pile
// up before a full mark-compact. So a young-generation collection (brief: the chunks
// are dead) runs after every EVERY bytes of upload, which frees them for less work in
// all.
//
// The two settings here interact: the growth cap below makes V8 count the dead
// chunks' bytes toward a small limit, so EVERY must stay under what crosses it, or
// each push sets off many small mark-compacts. Change one, re-measure the other
// (`--trace-gc`: mark-compacts per GiB uploaded). Measurements: bench/TRIED.md,
// "young collection" and "heap cap".
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { onUploadBytes } from '../store/sink.js';

type Collect = (options: { type: 'minor' }) => void;

/** Upload bytes between two collections. */
const EVERY = 4 << 20;

/** V8's gc(): the global one under `node --expose-gc`, else from a context made after setting the flag. */
export function loadCollector(): Collect | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as Collect;
  try {
    v8.setFlagsFromString('--expose-gc'); // applies to contexts created from now on
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Collect) : undefined;
  } catch {
    return undefined; // a V8 that refuses: chunks are freed on V8's own schedule, as before
  }
}

export class YoungCollector {
  private collect: Collect | undefined | null = null; // null: not loaded yet (most daemons never upload)
  private since = 0;

  constructor(
    private readonly every = EVERY,
    private readonly load: () => Collect | undefined = loadCollector,
  ) {}

  /** Counts upload bytes taken in; collects the young generation after every `every` of them. */
  received(bytes: number): void {
    this.since += bytes;
    if (this.since < this.every) return;
    this.since = 0;
    if (this.collect === null) this.collect = this.load();
    this.collect?.({ type: 'minor' });
  }
}

/** The daemon's one collector: every upload's bytes count toward it (the store's sinks report them). */
export const uploadBytes = new YoungCollector();
onUploadBytes((bytes) => uploadBytes.received(bytes));

/**
 * Fixes at 1.5 the factor by which V8 lets the old generation grow past what its
 * last full collection kept. V8 picks it between 1.1 and 4 from how fast it measured
 * collections, and 4 at start-up or after one slow collection, which let the
 * daemon's memory run past its bound now and then; at the daemon's small live heap
 * V8's minimum step sets the usual limit anyway, so only those outliers change. One
 * given to node (command line or NODE_OPTIONS) wins.
 */
export function capHeapGrowth(percent = 50): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
