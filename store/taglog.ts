// A tag's history in the order it moved, so that a page of it costs a page:
// `_tags/<tag>/log`, one line per move, `<ISO time> <alg>:<hex>\n`, appended under the
// tag's lock before the history entry is written. It is an index, not the truth:
// the entries under `index/` are. A line counts only while its entry exists and holds
// the line's time (a rollback removes an entry, an import re-dates one: their old
// lines are skipped, as are later duplicates). A log is trusted for a page only when
// its newest counted line is the tag's current revision; otherwise, or when there is
// none (a root from before logs, a crash between an append and its entry), the whole
// history is read and sorted, as without a log. `cairn fsck` checks a log against the
// entries and `--repair` rebuilds it; `cairn gc` rewrites the log of a tag whose
// entries it removed.
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { atomicWrite } from '../shared/fsx.js';
import { pathExistsSync, retryStale } from '../shared/syncfs.js';
import type { HistoryEntry } from '../shared/tree.js';
import { type Digest, digestString, isDigest, parseDigest } from '../shared/reference.js';

/** One move, as a log line. */
export function logLine(at: string, d: Digest): string {
  return `${at} ${digestString(d)}\n`;
}

/**
 * Appends one move (a single write with O_APPEND: whole lines, whatever else appends).
 * A log another host just rewrote answers a stale handle: appended again from the
 * path (a line written twice counts once).
 */
export async function appendTagLog(file: string, at: string, d: Digest): Promise<void> {
  retryStale(() => appendFileSync(file, logLine(at, d))); // inline, as the other small writes of a tag move: no trips through the pool
}

/** A whole log for `entries` (newest first, as Tree.tagHistory gives them). */
export function tagLogText(entries: HistoryEntry[]): string {
  return [...entries].reverse().map((e) => logLine(e.taggedAt, e.digest)).join('');
}

/** Writes a whole log for `entries`, in one rename. */
export async function writeTagLog(tmpDir: string, file: string, entries: HistoryEntry[]): Promise<void> {
  await atomicWrite(tmpDir, file, tagLogText(entries));
}

/** A line's move when it still counts (its entry exists and holds its time), else undefined. */
function countedMove(line: string, entryText: (d: Digest) => string | undefined): { at: string; ds: string; d: Digest } | undefined {
  const space = line.indexOf(' ');
  const at = line.slice(0, space);
  const ds = line.slice(space + 1);
  if (space < 0 || !isDigest(ds)) return undefined;
  const d = parseDigest(ds);
  return entryText(d)?.trim() === at ? { at, ds, d } : undefined; // else removed or re-dated since
}

/** Where a page ends: the last entry given and the byte offset of its line (the next page starts before it). */
export interface LogCursor {
  digest: string;
  offset: number;
}

/** Block size of the backwards read. */
const BLOCK = 64 * 1024;

/**
 * Lines of `file` from the end, newest first, each with its byte offset: reads blocks
 * backwards from `before` (default: the end), so a page reads what it returns and
 * what it skips, not the whole log.
 */
function* linesBackwards(file: string, before?: number): Generator<{ line: string; offset: number }> {
  let fd: number;
  try {
    fd = retryStale(() => openSync(file, 'r'));
  } catch {
    return;
  }
  try {
    let end = Math.min(before ?? Infinity, fstatSync(fd).size);
    let carry = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - BLOCK);
      const buf = Buffer.allocUnsafe(end - start);
      readSync(fd, buf, 0, buf.length, start);
      const chunk = Buffer.concat([buf, carry]);
      let cut = chunk.length;
      for (let i = chunk.length - 1; i >= 0; i--) {
        if (chunk[i] !== 0x0a) continue;
        if (i + 1 < cut) yield { line: chunk.toString('utf8', i + 1, cut), offset: start + i + 1 };
        cut = i;
      }
      carry = chunk.subarray(0, cut);
      end = start;
    }
    if (carry.length) yield { line: carry.toString('utf8'), offset: 0 };
  } finally {
    closeSync(fd);
  }
}

export interface LogPage {
  entries: HistoryEntry[];
  /** Where the next page starts, when there is one. */
  next?: LogCursor;
}

/**
 * Up to `n` history entries, newest first, after `after`; undefined when the log
 * cannot be trusted (see the head of this file) and the caller must read it all.
 * `entryText(d)` reads an entry's time (undefined when it is gone).
 */
export function readTagLogPage(
  file: string,
  current: Digest | undefined,
  n: number,
  after: LogCursor | undefined,
  entryText: (d: Digest) => string | undefined,
): LogPage | undefined {
  const seen = new Set<string>();
  const entries: HistoryEntry[] = [];
  let started = after === undefined;
  let first = true;
  let last: { digest: string; offset: number } | undefined;
  // A cursor's offset is a hint: a page starts there when its line names the cursor's
  // digest; otherwise the log is read from the end until that digest is passed.
  const hinted = after && after.offset >= 0 && lineAt(file, after.offset)?.endsWith(` ${after.digest}`) ? after.offset : undefined;
  if (hinted !== undefined) started = true;
  for (const { line, offset } of linesBackwards(file, hinted)) {
    const move = countedMove(line, entryText);
    if (!move || seen.has(move.ds)) continue;
    const { at, ds, d } = move;
    seen.add(ds);
    if (first && hinted === undefined) {
      // The newest counted line must be `current`, or the log is behind.
      if (!current || digestString(current) !== ds) return undefined;
      first = false;
    }
    if (!started) {
      if (ds === after!.digest) started = true;
      continue;
    }
    if (entries.length === n) return { entries, next: last };
    entries.push({ digest: d, taggedAt: at });
    last = { digest: ds, offset };
  }
  if (first && hinted === undefined && current) return undefined; // no line for a tag that has a current
  return { entries };
}

/** The line starting at `offset`, or undefined. */
function lineAt(file: string, offset: number): string | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(200);
      const got = readSync(fd, buf, 0, buf.length, offset);
      const text = buf.toString('utf8', 0, got);
      const nl = text.indexOf('\n');
      return nl < 0 ? undefined : text.slice(0, nl);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The digests a log counts (for fsck): every line whose entry exists and holds its time. */
export function countedInLog(file: string, entryText: (d: Digest) => string | undefined): Set<string> | undefined {
  if (!pathExistsSync(file)) return undefined;
  const out = new Set<string>();
  for (const { line } of linesBackwards(file)) {
    const move = countedMove(line, entryText);
    if (move) out.add(move.ds);
  }
  return out;
}
