// Stale file handles (ESTALE, errno -116) are what a network filesystem answers when
// another host renamed a new file over the one a handle names. Injected here at the
// system-call boundary (node:fs itself), the reads start again from the path and
// succeed; past the attempts the error reaches the caller.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { STALE_ATTEMPTS, isStale, readTextSyncOrUndefined, retryStale, statSyncOrUndefined } from '../../../shared/syncfs.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-stale-'));
  await writeFile(join(dir, 'current'), 'sha256:abc');
});
after(() => rm(dir, { recursive: true, force: true }));

/** What Node throws for errno -116 where libuv has no name for it. */
function staleError(): Error {
  return Object.assign(new Error('Unknown system error -116: Unknown system error -116, close'), { errno: -116, code: 'Unknown system error -116', syscall: 'close' });
}

/** Makes `fs[name]` throw a stale handle `times` times, then behave; returns how many calls it saw. */
function failing<K extends 'closeSync' | 'openSync' | 'statSync'>(name: K, times: number): { calls: () => number; restore: () => void } {
  const original = fs[name] as (...args: unknown[]) => unknown;
  let calls = 0;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    calls++;
    if (calls <= times) {
      if (name === 'closeSync') original(...args); // the descriptor is gone, as after a real failing close
      throw staleError();
    }
    return original(...args);
  };
  syncBuiltinESMExports();
  return {
    calls: () => calls,
    restore: () => {
      (fs as unknown as Record<string, unknown>)[name] = original;
      syncBuiltinESMExports();
    },
  };
}

test('errno -116 is a stale handle whatever Node names it', () => {
  assert.ok(isStale(staleError()));
  assert.ok(isStale(Object.assign(new Error('x'), { code: 'ESTALE' })));
  assert.ok(!isStale(Object.assign(new Error('x'), { code: 'EIO', errno: -5 })));
  assert.ok(isStale(new AggregateError([staleError(), staleError()], 'write, then close')), 'a failed write and its failed close, as fs.promises reports them');
});

test('a read whose close meets a stale handle reads again from the path, and returns the file', () => {
  const f = failing('closeSync', 2);
  try {
    assert.equal(readTextSyncOrUndefined(join(dir, 'current')), 'sha256:abc');
    assert.equal(f.calls(), 3);
  } finally {
    f.restore();
  }
});

test('an open that meets a stale handle is retried; a stat too', () => {
  const o = failing('openSync', 1);
  try {
    assert.equal(readTextSyncOrUndefined(join(dir, 'current')), 'sha256:abc');
  } finally {
    o.restore();
  }
  const s = failing('statSync', 3);
  try {
    assert.equal(statSyncOrUndefined(join(dir, 'current'))?.size, 10);
    assert.equal(s.calls(), 4);
  } finally {
    s.restore();
  }
});

test(`past ${STALE_ATTEMPTS} attempts the stale handle reaches the caller; other errors are never retried`, () => {
  const o = failing('openSync', STALE_ATTEMPTS);
  try {
    assert.throws(() => readTextSyncOrUndefined(join(dir, 'current')), (err) => isStale(err));
    assert.equal(o.calls(), STALE_ATTEMPTS);
  } finally {
    o.restore();
  }
  let calls = 0;
  assert.throws(() => retryStale(() => {
    calls++;
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  }), /EIO/);
  assert.equal(calls, 1);
});
