// shared/paths.ts owns the tree: a table of part → path, and refusals for parts
// that would leave the root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Paths, digestFromLinkPath } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';

const hex = 'ab'.padEnd(64, '0');
const d = parseDigest(`sha256:${hex}`);
const p = new Paths('/r');
const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

test('every path of the layout', () => {
  const table: [string, string][] = [
    [p.blob(d), `/r/blobs/sha256/ab/${hex}`],
    [p.repository('a/b'), '/r/repositories/a/b'],
    [p.revision('a/b', d), `/r/repositories/a/b/_revisions/sha256/${hex}`],
    [p.tagCurrent('a/b', 'v1'), '/r/repositories/a/b/_tags/v1/current'],
    [p.tagIndexEntry('a/b', 'v1', d), `/r/repositories/a/b/_tags/v1/index/sha256/${hex}`],
    [p.layer('a', d), `/r/repositories/a/_layers/sha256/${hex}`],
    [p.referrer('a', d, d), `/r/repositories/a/_referrers/sha256/${hex}/sha256/${hex}`],
    [p.uploadData('a', id), `/r/repositories/a/_uploads/${id}/data`],
    [p.uploadState('a', id), `/r/repositories/a/_uploads/${id}/state`],
    [p.signature(d, hex), `/r/signatures/sha256/${hex}/${hex}`],
    [p.tmpDir(), '/r/tmp'],
    [p.gcLast(), '/r/gc-last.json'],
    [p.eventEndpoints(), '/r/events/endpoints.json'],
    [p.eventPending('hook', '1700000000000-000001-0123abcd'), '/r/events/pending/hook/1700000000000-000001-0123abcd.json'],
    [p.eventFailed('hook', '1700000000000-000001-0123abcd'), '/r/events/failed/hook/1700000000000-000001-0123abcd.json'],
    [p.eventStatus('hook'), '/r/events/status/hook.json'],
  ];
  for (const [actual, expected] of table) assert.equal(actual, expected);
});

test('link paths parse back into digests', () => {
  assert.deepEqual(digestFromLinkPath(p.revision('a', d)), d);
  assert.equal(digestFromLinkPath('/r/repositories/a/_revisions/sha256/zz'), undefined);
});

test('parts outside the grammar never become paths', () => {
  for (const name of ['..', 'a/../b', 'A', '/a', 'a/', 'a//b', '_tags', 'a/_tags', 'a%2fb', 'x'.repeat(256)]) {
    assert.throws(() => p.repository(name), /invalid name/, name);
  }
  for (const tag of ['..', '.hidden', 'a/b', '-x', 'x'.repeat(129)]) {
    assert.throws(() => p.tagCurrent('a', tag), /invalid tag/, tag);
  }
  assert.throws(() => p.blob({ algorithm: 'sha256', hex: '../../etc/passwd' }), /invalid digest/);
  assert.throws(() => p.upload('a', '../x'), /invalid upload id/);
});
