// `cairn gc --json` streams its report an item at a time; what it prints is what
// JSON.stringify(report, null, 2) would, byte for byte.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { type Report, writeReportJson } from '../../../gc/report.js';

test('the streamed report is JSON.stringify(report, null, 2), empty lists and nested values included', async () => {
  const item = (i: number) => ({ kind: 'blob' as const, ref: `sha256:${i}`, digest: `sha256:${i}`, bytes: i, reason: 'no kept manifest references it "quoted"', mtimeMs: i });
  const report = {
    root: '/r', dryRun: false, markedAt: '2026-01-01T00:00:00.000Z', durationMs: 5, bytesFreed: 10, revisionsRemoved: 1, blobsRemoved: 3000,
    tagsRemoved: 0, historyEntriesRemoved: 0, referrerLinksRemoved: 0, layerLinksRemoved: 0, signaturesRemoved: 0, uploadsRemoved: 0,
    kept: { revisions: 1, blobs: 2 }, removed: Array.from({ length: 3000 }, (_, i) => item(i)), spared: [], interrupted: false, warnings: ['a', 'b'],
  } satisfies Report;
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk;
      done();
    },
  });
  await writeReportJson(report, out);
  assert.equal(text, `${JSON.stringify(report, null, 2)}\n`);
});
