// The catalog watcher is bounded too: past its folder limit it stops, and the catalog
// is no longer cached (every _catalog walks the tree, correct and slower).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { watchTree } from '../../../daemon/watch.js';
import { TagCache } from '../../../store/cache.js';

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; !check(); i++) {
    assert.ok(i < 200, what);
    await new Promise((r) => setTimeout(r, 25));
  }
};

test('a tree with more name folders than the limit is not watched; one that grows past it stops being watched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-watch-'));
  try {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await mkdir(join(dir, n));
    const big = new TagCache();
    const w1 = await watchTree(dir, big, 'inotify', createLogger('silent'), 3);
    assert.equal(big.catalogCaching, false);
    await w1.close();

    const small = new TagCache();
    const w2 = await watchTree(dir, small, 'inotify', createLogger('silent'), 10);
    assert.equal(small.catalogCaching, true);
    for (const n of ['f', 'g', 'h', 'i', 'j', 'k', 'l']) await mkdir(join(dir, n));
    await until('caching stops once past the limit', () => !small.catalogCaching);
    await w2.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
