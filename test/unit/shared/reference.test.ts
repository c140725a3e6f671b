// shared/reference.ts: the grammars every path part is checked against. Parsers
// never throw anything but a RegistryError, and give back exactly what they accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RegistryError } from '../../../shared/errors.js';
import { digestString, isName, parseDigest, parseName, parseReference, parseTag } from '../../../shared/reference.js';
import { digestArb, nameArb, tagArb } from './arbitraries.js';

test('names, tags and digests: the edges of each grammar', () => {
  for (const ok of ['a', 'a/b', 'a-b/c__d', 'a.b/c--d', 'x'.repeat(255)]) assert.ok(isName(ok), ok);
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '-a', 'a_', 'a___b', 'a..b', '_a', 'x'.repeat(256), 'a%2Fb']) assert.ok(!isName(bad), bad);
  assert.equal(parseTag('v1.2_3-x'), 'v1.2_3-x');
  for (const bad of ['', '-x', '.x', 'x'.repeat(129), 'a:b', 'a/b']) assert.throws(() => parseTag(bad), RegistryError, bad);
  for (const bad of ['sha256:', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `md5:${'a'.repeat(32)}`, `sha512:${'a'.repeat(64)}`]) {
    assert.throws(() => parseDigest(bad), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID', bad);
  }
});

test('any string: a value or a RegistryError, nothing else', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      for (const parse of [parseName, parseTag, parseDigest, parseReference]) {
        try {
          parse(s);
        } catch (err) {
          assert.ok(err instanceof RegistryError, `${parse.name}(${JSON.stringify(s)}) threw ${err}`);
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('what is accepted round-trips', () => {
  fc.assert(fc.property(nameArb, (n) => assert.equal(parseName(n), n)));
  fc.assert(fc.property(tagArb, (t) => assert.deepEqual({ ...parseReference(t) }, { tag: t })));
  fc.assert(fc.property(digestArb, (d) => assert.equal(digestString(parseReference(d).digest!), d)));
});
