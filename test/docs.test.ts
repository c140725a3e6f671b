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

test('the "Works with" table names every client CI builds, at the version it builds, and each has its suite', async () => {
  const section = readme.split('## Works with')[1]!.split('\n## ')[0]!;
  const rows = new Map([...section.matchAll(/^\| ([a-zA-Z][\w -]*?) \| ([^|]+?) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const).filter(([name]) => name !== 'client'));
  const tools = await readFile(new URL('../../.ci/tools.sh', import.meta.url), 'utf8');
  const built = [...tools.matchAll(/^\s+"(\S+) (\S+) \S+ \S+"$/gm)].map((m) => [m[1]!, m[2]!] as const).filter(([name]) => name !== 'registry'); // the bench's peer
  assert.ok(built.length >= 6, 'the tool list was read');
  for (const [name, version] of built) {
    const row = name === 'conformance' ? 'OCI conformance' : name;
    assert.equal(rows.get(row), version, `${row} in README at the version .ci/tools.sh builds`);
  }
  const { existsSync } = await import('node:fs');
  for (const name of rows.keys()) {
    const suite = name === 'OCI conformance' ? 'conformance' : name;
    assert.ok(existsSync(new URL(`../../test/clients/${suite}.test.ts`, import.meta.url)), `test/clients/${suite}.test.ts exists`);
  }
});
