// fast-check arbitraries for the grammars of shared/reference.ts: names, tags and
// digests as a client may send them.
import fc from 'fast-check';

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const component = fc
  .tuple(fc.string({ unit: alnum, minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), fc.string({ unit: alnum, minLength: 1, maxLength: 6 })), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));

export const nameArb = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')).filter((n) => n.length <= 255);

const tagFirst = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'.split(''));
const tagRest = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-'.split(''));
export const tagArb = fc.tuple(tagFirst, fc.string({ unit: tagRest, maxLength: 20 })).map(([a, b]) => a + b);

const hex = fc.constantFrom(...'0123456789abcdef'.split(''));
export const digestArb = fc.oneof(
  fc.string({ unit: hex, minLength: 64, maxLength: 64 }).map((h) => `sha256:${h}`),
  fc.string({ unit: hex, minLength: 128, maxLength: 128 }).map((h) => `sha512:${h}`),
);
