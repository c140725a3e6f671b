// The documentation cannot drift from the code: the error table, the storage
// layout, every command's options, the clients CI builds; and it speaks of the
// project only (no issue numbers, no contract outside the repository).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../shared/errors.js';
import { cairn } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const readme = read('README.md');
const section = (text: string, heading: string) => text.split(heading)[1]!.split(/\n#{1,2} /)[0]!;

test('every error code is in docs/api.md with its status, and no other', () => {
  const table = section(read('docs/api.md'), '## Error codes');
  const documented = new Map([...table.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    assert.ok(documented.get(code)!.startsWith(String(status)), `${code} documented as ${documented.get(code)}, is ${status}`);
  }
});

test('docs/storage.md lists the tree exactly as shared/paths.ts does at its head', () => {
  const src = read('shared/paths.ts').split('\n');
  const start = src.findIndex((l) => l.trim() === '//   <root>/');
  const end = src.findIndex((l, i) => i > start && l.trim() === '//');
  const fromCode = src.slice(start, end).map((l) => l.replace(/^\/\/ {3}/, '').replace(/\s+/g, ' ').trim());
  const doc = /```\n(<root>\/[\s\S]*?)```/.exec(read('docs/storage.md'))![1]!.trim().split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  assert.deepEqual(doc, fromCode);
});

test('docs/configuration.md has every option of every command, and only those', async () => {
  const doc = read('docs/configuration.md');
  for (const command of ['serve', 'gc', 'fsck', 'export', 'import', 'inventory', 'mirror', 'events']) {
    const help = await cairn([command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    const fromHelp = new Set([...help.stdout.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((o) => o !== '--help' && o !== '--version'));
    const table = section(doc, `## \`cairn ${command}\``);
    const documented = new Set([...table.matchAll(/^\| `(--[a-z][a-z-]*)/gm), ...table.matchAll(/ \/ `(--[a-z][a-z-]*)/gm)].map((m) => m[1]!.replace(/^--no-/, '--')));
    assert.deepEqual([...documented].sort(), [...fromHelp].sort(), `cairn ${command}`);
  }
});

test('the "Works with" table names every client CI builds, at the version it builds, and each has its suite', () => {
  const table = section(readme, '## Works with');
  const rows = new Map([...table.matchAll(/^\| ([a-zA-Z][\w -]*?) \| ([^|]+?) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const).filter(([name]) => name !== 'client'));
  const built = [...read('.ci/tools.sh').matchAll(/^\s+"(\S+) (\S+) \S+ \S+"$/gm)].map((m) => [m[1]!, m[2]!] as const).filter(([name]) => name !== 'registry'); // the bench's peer
  assert.ok(built.length >= 6, 'the tool list was read');
  for (const [name, version] of built) {
    const row = name === 'conformance' ? 'OCI conformance' : name;
    assert.equal(rows.get(row), version, `${row} in README at the version .ci/tools.sh builds`);
  }
  for (const name of rows.keys()) {
    const suite = name === 'OCI conformance' ? 'conformance' : name;
    assert.ok(existsSync(join(ROOT, `test/clients/${suite}.test.ts`)), `test/clients/${suite}.test.ts exists`);
  }
});

test('docs, code and tests cite the project only: no issue numbers, no contract outside the repository', () => {
  const files = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((n) => {
      const rel = join(dir, n);
      return statSync(join(ROOT, rel)).isDirectory() ? files(rel) : /\.(ts|cts|md)$/.test(n) ? [rel] : [];
    });
  const all = ['README.md', 'cli.ts', 'cairn.cts', ...['docs', 'shared', 'store', 'events', 'upstream', 'daemon', 'gc', 'fsck', 'mirror', 'test', 'bench'].flatMap(files)];
  const cited = all.flatMap((f) => [...read(f).matchAll(/SPEC §|shared\/(SPEC|STYLE)\.md|\bissues? #?\d+\b/gi)].map((m) => `${f}: ${m[0]}`))
    .filter((c) => !c.startsWith('test/docs.test.ts') && !c.startsWith('bench/history/'));
  assert.deepEqual(cited, []);
});

test('every relative link in README.md and docs/ points at a file that exists', () => {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs'), { recursive: true }).map(String).filter((n) => n.endsWith('.md')).map((n) => join('docs', n))];
  const broken: string[] = [];
  for (const f of docs) {
    for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(ROOT, f, '..', target))) broken.push(`${f} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
