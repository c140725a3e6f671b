// gc/keeplist.ts: what a keep-list line may say, and that the parser never throws
// anything but its own error and gives back what it accepted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeepListError, parseKeepList } from '../../../gc/keeplist.js';
import { digestString } from '../../../shared/reference.js';
import { digestArb, nameArb, tagArb } from '../shared/arbitraries.js';

test('the three forms, comments and blank lines', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  const entries = parseKeepList(`# deployed\nshop/api@${d}   # pinned\n\nshop/web:prod\nshop/api:v2@${d}\n`, 'k');
  assert.deepEqual(entries.map((e) => [e.name, e.tag, e.digest && digestString(e.digest), e.source]), [
    ['shop/api', undefined, d, 'k:2'],
    ['shop/web', 'prod', undefined, 'k:4'],
    ['shop/api', 'v2', d, 'k:5'],
  ]);
});

test('a bad line names its file and line', () => {
  for (const bad of ['shop/api', 'Shop/api:v1', 'shop/api:-x', 'shop/api@sha256:zz', 'a b:c']) {
    assert.throws(() => parseKeepList(`ok/x:1\n${bad}\n`, 'list'), (err: unknown) => err instanceof KeepListError && err.line === 2 && err.file === 'list', bad);
  }
});

test('any text: entries or a KeepListError, nothing else', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        parseKeepList(text, 'f');
      } catch (err) {
        assert.ok(err instanceof KeepListError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('what it accepts round-trips', () => {
  const entry = fc.record({ name: nameArb, tag: fc.option(tagArb, { nil: undefined }), digest: fc.option(digestArb, { nil: undefined }) }).filter((e) => e.tag !== undefined || e.digest !== undefined);
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
      const text = entries.map((e) => `${e.name}${e.tag ? `:${e.tag}` : ''}${e.digest ? `@${e.digest}` : ''}`).join('\n');
      const parsed = parseKeepList(text, 'f');
      assert.deepEqual(parsed.map((p) => ({ name: p.name, tag: p.tag, digest: p.digest && digestString(p.digest) })), entries.map((e) => ({ name: e.name, tag: e.tag, digest: e.digest })));
    }),
  );
});
