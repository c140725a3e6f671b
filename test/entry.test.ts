// dist/cairn.cjs, the `cairn` command's entry: `cairn gc` runs on 16 libuv pool
// threads, unless UV_THREADPOOL_SIZE says otherwise. Read off /proc while each gc
// waits for its keep-list on standard input.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from './helpers/cli.js';

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const threads = (p: ChildProcess) => Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))![1]);

test('cairn gc gets 16 pool threads; a UV_THREADPOOL_SIZE given wins', async () => {
  const { UV_THREADPOOL_SIZE: _, ...env } = process.env;
  const roots = [await mkdtemp(join(tmpdir(), 'cairn-entry-')), await mkdtemp(join(tmpdir(), 'cairn-entry-'))];
  const gc = (root: string, extra: NodeJS.ProcessEnv) =>
    spawn(process.execPath, [CLI, 'gc', '--root', root, '--keep', '-'], { env: { ...env, ...extra }, stdio: ['pipe', 'ignore', 'inherit'] });
  const ours = gc(roots[0]!, {});
  const given = gc(roots[1]!, { UV_THREADPOOL_SIZE: '4' });
  const exited = [ours, given].map((p) => new Promise((ok) => p.once('exit', ok)));
  try {
    // The same node, the same command: the two differ by their pools once both are up.
    let diff = 0;
    for (let i = 0; i < 100 && diff !== 12; i++) {
      await sleep(100);
      diff = threads(ours) - threads(given);
    }
    assert.equal(diff, 12);
  } finally {
    ours.stdin!.end();
    given.stdin!.end();
    assert.deepEqual(await Promise.all(exited), [0, 0]);
    for (const r of roots) await rm(r, { recursive: true, force: true });
  }
});
