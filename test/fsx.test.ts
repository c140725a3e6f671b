// shared/fsx.ts: the folder fsync that callers share (group commit) still answers
// every caller, passes each its error, and starts afresh after one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fsyncDir } from '../shared/fsx.js';

test('concurrent fsyncs of one folder all resolve, and later ones still run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-fsx-'));
  try {
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => fsyncDir(dir)));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['fulfilled']));
    await fsyncDir(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a folder that is gone fails every caller with ENOENT, and the next call tries again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-fsx-'));
  await rm(dir, { recursive: true });
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => fsyncDir(dir)));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.equal((r.reason as NodeJS.ErrnoException).code, 'ENOENT');
  }
  await assert.rejects(fsyncDir(dir), { code: 'ENOENT' });
});
