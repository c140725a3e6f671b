// The folders are the architecture: shared ← {store, events, upstream} ← {daemon,
// gc, fsck, mirror} ← cli. This test reads every import of the source (static and dynamic)
// and fails on one that runs against the layers, and on any cycle between files.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

/** What each top-level part may import, besides itself and npm/node modules. */
const MAY_IMPORT: Record<string, string[]> = {
  shared: [],
  store: ['shared'],
  events: ['shared'],
  upstream: ['shared'],
  daemon: ['shared', 'store', 'events', 'upstream'],
  gc: ['shared', 'store', 'events'],
  fsck: ['shared', 'store'],
  mirror: ['shared', 'store', 'upstream'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.c?ts$/.test(name)) out.push(rel);
  }
  return out;
}

/** The source files a file imports (relative specifiers only), as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
    out.push(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts'));
  }
  return out;
}

const part = (file: string) => file.split('/')[0]!;
const files = [...Object.keys(MAY_IMPORT).flatMap(sources), 'cli.ts', 'cairn.cts'];

test('every import points down the layers', () => {
  const wrong: string[] = [];
  for (const file of files) {
    const from = part(file);
    const allowed = MAY_IMPORT[from];
    if (!allowed) continue; // cli.ts and cairn.cts sit on top
    for (const target of importsOf(file)) {
      const to = part(target);
      if (to !== from && !allowed.includes(to)) wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no two files import each other, directly or around a circle', () => {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(ROOT, join(ROOT, p))).join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});
