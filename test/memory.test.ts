// daemon/memory.ts: the young-generation collection that frees upload chunks early,
// and the cap on V8's old-generation growth.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { YoungCollector, loadCollector } from '../daemon/memory.js';

describe('collecting upload chunks', () => {
  test("this Node hands out V8's gc() and a minor collection runs", () => {
    const gc = loadCollector();
    assert.equal(typeof gc, 'function');
    gc!({ type: 'minor' });
  });

  test('one collection per 8 MiB received, loaded only when first needed', () => {
    const calls: string[] = [];
    let loads = 0;
    const c = new YoungCollector(8 << 20, () => {
      loads++;
      return ({ type }) => void calls.push(type);
    });
    for (let i = 0; i < 100; i++) c.received(64 << 10); // 6.25 MiB
    assert.equal(loads, 0);
    for (let i = 0; i < 156; i++) c.received(64 << 10); // 16 MiB in all
    assert.deepEqual(calls, ['minor', 'minor']);
    assert.equal(loads, 1);
  });

  test('a V8 that gives no gc() leaves uploads working', () => {
    const c = new YoungCollector(1, () => undefined);
    assert.doesNotThrow(() => {
      c.received(10);
      c.received(10);
    });
  });
});

describe('capping the old generation', () => {
  /** The growing factors V8 applies at three full collections in a node that called capHeapGrowth (V8's own trace lines). */
  const factors = (nodeArgs: string[]): string[] => {
    const script = `const { capHeapGrowth } = await import(${JSON.stringify(new URL('../daemon/memory.js', import.meta.url).href)});
      capHeapGrowth();
      const keep = [];
      for (let i = 0; i < 3; i++) { keep.push(new Array(2e5).fill(i)); gc(); }`;
    const trace = execFileSync(process.execPath, [...nodeArgs, '--expose-gc', '--trace-gc-verbose', '--input-type=module', '-e', script], { encoding: 'utf8' });
    return [...trace.matchAll(/\[HeapController\] Limit: .*\((\d\.\d)\)$/gm)].map((m) => m[1]!);
  };

  test('V8 takes the 1.5× factor set at run time, at every full collection', () => {
    const seen = factors([]);
    assert.ok(seen.length >= 3, `full collections traced: ${seen.length}`);
    assert.deepEqual(new Set(seen), new Set(['1.5']));
  });

  test('a factor given on the command line wins', () => {
    assert.deepEqual(new Set(factors(['--heap-growing-percent=30'])), new Set(['1.3']));
  });
});
