// A tag's log (store/taglog.ts) gives a page of its history reading only that page,
// and is trusted only while it agrees with the entries.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Digest, digestString, parseDigest } from '../../../shared/reference.js';
import { logLine, readTagLogPage } from '../../../store/taglog.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-taglog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const d = (i: number): Digest => parseDigest(`sha256:${i.toString(16).padStart(64, '0')}`);
const time = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();

/** A tag folder with moves 0..n-1 in order: entries, and a log line for each. */
function tag(name: string, n: number): { log: string; entry: (x: Digest) => string; text: (x: Digest) => string | undefined } {
  const root = join(dir, name);
  mkdirSync(join(root, 'index', 'sha256'), { recursive: true });
  const entry = (x: Digest) => join(root, 'index', x.algorithm, x.hex);
  const log = join(root, 'log');
  writeFileSync(log, '');
  for (let i = 0; i < n; i++) {
    writeFileSync(entry(d(i)), time(i));
    appendFileSync(log, logLine(time(i), d(i)));
  }
  const text = (x: Digest) => {
    try {
      return readFileSync(entry(x), 'utf8');
    } catch {
      return undefined;
    }
  };
  return { log, entry, text };
}

test('pages newest first, each continuing where the last ended, with and without the offset hint', () => {
  const t = tag('paged', 250);
  const pages: string[][] = [];
  let cursor: { digest: string; offset: number } | undefined;
  for (;;) {
    const page = readTagLogPage(t.log, d(249), 100, cursor, t.text)!;
    pages.push(page.entries.map((e) => digestString(e.digest)));
    if (!page.next) break;
    cursor = page.next;
  }
  assert.deepEqual(pages.map((p) => p.length), [100, 100, 50]);
  assert.deepEqual(pages.flat(), Array.from({ length: 250 }, (_, i) => digestString(d(249 - i))));
  const noHint = readTagLogPage(t.log, d(249), 10, { digest: digestString(d(200)), offset: -1 }, t.text)!;
  assert.equal(digestString(noHint.entries[0]!.digest), digestString(d(199)));
});

test('a removed entry is skipped; a re-dated one counts once, at its new time', () => {
  const t = tag('edited', 5);
  unlinkSync(t.entry(d(2)));
  writeFileSync(t.entry(d(1)), time(10));
  appendFileSync(t.log, logLine(time(10), d(1)));
  const page = readTagLogPage(t.log, d(1), 10, undefined, t.text)!;
  assert.deepEqual(page.entries.map((e) => digestString(e.digest)), [d(1), d(4), d(3), d(0)].map(digestString));
});

test('a log is not trusted when its newest counted line is not current, or when it is missing', () => {
  const t = tag('behind', 3);
  writeFileSync(t.entry(d(7)), time(20)); // an entry whose append was lost
  assert.equal(readTagLogPage(t.log, d(7), 10, undefined, t.text), undefined);
  assert.equal(readTagLogPage(join(dir, 'nowhere', 'log'), d(0), 10, undefined, t.text), undefined);
});

test('a torn last line (a crash mid-append) is skipped', () => {
  const t = tag('torn', 3);
  appendFileSync(t.log, `${time(9)} sha256:abc`);
  const page = readTagLogPage(t.log, d(2), 10, undefined, t.text)!;
  assert.equal(page.entries.length, 3);
});
