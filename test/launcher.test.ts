// The `cairn` executable (dist/cairn.cjs) sizes libuv's thread pool before the ES
// modules load; a size set later, from cli.js, would be ignored. Counted from the
// daemon's threads in /proc: main, V8's helpers and the pool.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnDaemon } from './helpers/cli.js';

const threads = async (pid: number) => (await readdir(`/proc/${pid}/task`)).length;

test('the daemon runs with 16 pool threads, or what UV_THREADPOOL_SIZE says', { skip: process.platform !== 'linux' && 'counts threads in /proc' }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-launcher-'));
  const saved = process.env.UV_THREADPOOL_SIZE;
  try {
    delete process.env.UV_THREADPOOL_SIZE;
    const big = await spawnDaemon(root);
    process.env.UV_THREADPOOL_SIZE = '4';
    const small = await spawnDaemon(root);
    try {
      // The pool starts with the first file call, long before the daemon listens.
      const [b, s] = [await threads(big.pid), await threads(small.pid)];
      assert.equal(b - s, 12, `16-thread pool: ${b} threads; 4-thread pool: ${s}`);
    } finally {
      await Promise.all([big.stop(), small.stop()]);
    }
  } finally {
    if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
    else process.env.UV_THREADPOOL_SIZE = saved;
    await rm(root, { recursive: true, force: true });
  }
});
