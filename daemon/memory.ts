// Keeping the daemon's memory low: request-body chunks freed sooner, and a cap on
// how far the old generation grows (capHeapGrowth, at the end).
//
// Node hands every chunk of a request body to JavaScript in a buffer of its own (up
// to 64 KiB) whose bytes live outside V8's heap. V8 frees them only when it
// collects, and their small JS objects fill the young generation so slowly that
// collection waits for V8's external-memory trigger: tens of MiB of dead chunks
// pile up, and then a full mark-compact runs. A young-generation collection (a
// scavenge; the chunks are dead, so it is brief) after every few MiB of upload bytes
// frees them instead, for less work in all. One build, collection on / off, 3
// alternating rounds on a fresh daemon: a 512 MiB monolithic push 705-808 / 508-631
// MiB/s at 0.71-0.76 / 1.03-1.11 CPU s, chunked 683-746 / 486-526 MiB/s; 16
// concurrent 8 MiB uploads peaked at 95 / 117-125 MiB RSS.
// Every 4 MiB, not 8, since the growth cap below: V8 counts the dead chunks' bytes
// toward a limit it sets at 1.5× what its last full collection kept (~10 MB here),
// and 8 MiB of them crossed it, so a 512 MiB push made ~30 small mark-compacts
// (--trace-gc: 62 per GiB, 2 at 4 MiB), which cost it a third of its speed: two
// daemons alternating, 467-572 against 601-720 MiB/s monolithic, 484-529 against
// 642-727 chunked. 16 concurrent 8 MiB uploads: 113-117 against 111-112 MiB peak
// (every 2 MiB: 122-124, as more chunks outlive two scavenges and wait for a full one).
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
 * last full collection kept; V8 picks it between 1.1 and 4 from the collection
 * speed it measured against the allocation rate. At start-up it has measured
 * nothing and picks 4 (traced: a 47-48 MiB limit, which 5,000 tag PUTs never
 * reached), and a collection that measured slow gets a high factor again. One bench
 * run on 2026-12-01 peaked at 153-161 MiB RSS where the others stayed at 116-144.
 * At the daemon's ~12-15 MiB of live heap, V8's minimum step (8 MiB, plus the young
 * generation) sets the usual limit anyway (traced under manifest GETs: 36.5 MiB with
 * the cap and without), so only the outliers change. V8 reads the flag at every
 * full collection; one given to node on its command line or in NODE_OPTIONS wins.
 */
export function capHeapGrowth(percent = 50): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
