// daemon/params.ts paginate: entering a sorted list by comparison (binary search),
// an unsorted one by position, and the `next` value for the Link header.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paginate } from '../daemon/params.js';

const tags = ['a', 'b', 'c', 'd', 'e'];
const id = (t: string) => t;

test('a sorted list is entered after `last`, present or not', () => {
  const table: [last: string | undefined, n: number | undefined, items: string[], next?: string][] = [
    [undefined, undefined, tags],
    [undefined, 2, ['a', 'b'], 'b'],
    ['b', 2, ['c', 'd'], 'd'],
    ['bb', 2, ['c', 'd'], 'd'], // not a tag: entered by comparison
    ['d', 2, ['e']],
    ['e', 2, []],
    ['z', undefined, []],
    ['0', 5, tags],
    ['a', 0, [], undefined],
  ];
  for (const [last, n, items, next] of table) {
    const got = paginate(tags, id, { last, n });
    assert.deepEqual(got.items, items, `last=${last} n=${n}`);
    assert.equal(got.next, next, `next for last=${last} n=${n}`);
  }
});

test('an unsorted list is entered by position, and an unknown `last` gives nothing', () => {
  const history = ['c', 'a', 'b'];
  assert.deepEqual(paginate(history, id, { last: 'c', n: 1 }, false), { items: ['a'], next: 'a' });
  assert.deepEqual(paginate(history, id, { last: 'x' }, false), { items: [] });
});
