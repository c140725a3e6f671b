// daemon/http.ts: the Range and Content-Range parsers, as a table and over any input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { byteRange, parseContentRange } from '../../../daemon/http.js';
import { RegistryError } from '../../../shared/errors.js';

test('Content-Range of an upload chunk', () => {
  assert.equal(parseContentRange('', ''), undefined);
  assert.deepEqual(parseContentRange('0-9', '10'), { start: 0, end: 9 });
  assert.deepEqual(parseContentRange('bytes 5-9/100', ''), { start: 5, end: 9 });
  assert.deepEqual(parseContentRange('bytes=5-9/*', '5'), { start: 5, end: 9 });
  for (const [h, len] of [['9-0', ''], ['0-9', '11'], ['a-b', ''], ['0-', ''], ['-5', ''], ['99999999999999999999-99999999999999999999', '']]) {
    assert.throws(() => parseContentRange(h!, len!), (e: unknown) => e instanceof RegistryError && e.code === 'RANGE_INVALID', h);
  }
});

test('Range of a blob GET', () => {
  assert.equal(byteRange('', 10), undefined);
  assert.deepEqual(byteRange('bytes=0-4', 10), { start: 0, end: 4 });
  assert.deepEqual(byteRange('bytes=5-', 10), { start: 5, end: 9 });
  assert.deepEqual(byteRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(byteRange('bytes=8-100', 10), { start: 8, end: 9 });
  for (const h of ['bytes=10-', 'bytes=5-4', 'bytes=-', 'items=0-1']) assert.throws(() => byteRange(h, 10), RegistryError, h);
});

test('any header: a range inside what was asked, or RANGE_INVALID', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`)), fc.oneof(fc.constant(''), fc.nat().map(String)), (h, len) => {
      try {
        const r = parseContentRange(h, len);
        if (r) {
          assert.ok(r.start <= r.end && Number.isSafeInteger(r.end));
          if (len !== '') assert.equal(Number(len), r.end - r.start + 1);
        }
      } catch (err) {
        assert.ok(err instanceof RegistryError && err.code === 'RANGE_INVALID', String(err));
      }
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 1, max: 1 << 30 }), (h, size) => {
      try {
        const r = byteRange(h, size);
        if (r) assert.ok(r.start >= 0 && r.start <= r.end && r.end < size);
      } catch (err) {
        assert.ok(err instanceof RegistryError && err.code === 'RANGE_INVALID', String(err));
      }
    }),
    { numRuns: 3000 },
  );
});
