// daemon/memory.ts: the young-generation collection that frees upload chunks early.
import assert from 'node:assert/strict';
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
