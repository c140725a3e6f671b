// Carrying out the repairs a check found. Order is the crash-safe one, references
// before what they reference: additive links first, then tags move off broken
// revisions, then dangling links go, and broken blobs are moved to quarantine/
// last. Nothing is deleted that holds good data: a corrupt blob or an unparsable
// signature is moved aside, never removed; only links (empty files, or history
// entries of revisions that can no longer be pulled) are removed.
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWrite, ensureLink, fsyncFolderOf, mkdirp, removeFile, removeTree, tempPath } from '../shared/fsx.js';
import { isCode } from '../shared/syncfs.js';
import type { Paths } from '../shared/paths.js';
import type { Finding, Repair } from './check.js';

export interface RepairOutcome {
  finding: Finding;
  /** What was done, or why nothing was. */
  done: boolean;
  note: string;
}

const ORDER: Repair['action'][] = ['create', 'point-tag', 'remove-tag', 'remove', 'quarantine'];
/** Among removals: history entries before referrer links before revision links before layer links. */
const REMOVE_ORDER = ['/_tags/', '/_referrers/', '/_revisions/', '/_layers/'];

export async function repairTree(paths: Paths, findings: Finding[], run: string = quarantineRun()): Promise<RepairOutcome[]> {
  const rank = (f: Finding) => {
    const r = f.repair!;
    const sub = r.action === 'remove' ? REMOVE_ORDER.findIndex((s) => r.path.includes(s)) : 0;
    return ORDER.indexOf(r.action) * 10 + sub;
  };
  const todo = findings.filter((f) => f.repair).sort((a, b) => rank(a) - rank(b));
  const out: RepairOutcome[] = findings.filter((f) => !f.repair).map((finding) => ({ finding, done: false, note: 'no automatic repair' }));
  for (const finding of todo) {
    try {
      out.push({ finding, done: true, note: await apply(paths, finding.repair!, run) });
    } catch (err) {
      out.push({ finding, done: false, note: `failed: ${(err as Error).message}` });
    }
  }
  return out;
}

async function apply(paths: Paths, r: Repair, run: string): Promise<string> {
  switch (r.action) {
    case 'create':
      if (r.content === '') {
        await ensureLink(r.path);
        await fsyncFolderOf(r.path);
      } else await atomicWrite(paths.tmpDir(), r.path, r.content);
      return `created ${paths.relative(r.path)}`;
    case 'point-tag':
      await atomicWrite(paths.tmpDir(), paths.tagCurrent(r.repository, r.tag), r.digest);
      return `${r.repository}:${r.tag} now points at ${r.digest}`;
    case 'remove-tag': {
      // Out of the tree in one rename, then deleted (its history held no valid revision).
      const doomed = tempPath(paths.tmpDir());
      await mkdirp(paths.tmpDir());
      try {
        await fs.rename(paths.tag(r.repository, r.tag), doomed);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return 'already gone';
        throw err;
      }
      await removeTree(doomed);
      return `removed tag ${r.repository}:${r.tag}`;
    }
    case 'remove':
      return (await removeFile(r.path)) ? `removed ${paths.relative(r.path)}` : 'already gone';
    case 'quarantine': {
      const dest = paths.quarantined(run, r.path);
      await mkdirp(dirname(dest));
      try {
        await fs.rename(r.path, dest);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return 'already gone';
        throw err;
      }
      return `moved to ${paths.relative(dest)}`;
    }
  }
}

/** `<compact ISO time>-<pid>`: one folder per repair run under quarantine/. */
export function quarantineRun(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}`;
}
