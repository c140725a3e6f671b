// The README cannot drift from the code: every error code is documented, and
// every documented code exists.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ERROR_CODES } from '../shared/errors.js';

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');

test('every error code is in the README with its status, and no other', () => {
  const section = readme.split('### Error codes')[1]!.split('\n## ')[0]!;
  const documented = new Map([...section.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    assert.ok(documented.get(code)!.startsWith(String(status)), `${code} documented as ${documented.get(code)}, is ${status}`);
  }
});
