// `cairn serve --inbox DIR`: bundles dropped into DIR are imported while the daemon
// serves, then moved to DIR/done/ or DIR/failed/ with a short report beside them.
// A bundle counts as complete once it is renamed into place or its size has been
// stable for a moment (chokidar's awaitWriteFinish for files; for a directory, its
// total size and newest mtime unchanged over the same interval). Names starting
// with "." or holding ".partial" are in-progress writes and left alone. Imports run
// one at a time; a bundle that fails changes nothing in the store (see mirror/import.ts).
import { promises as fs } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { mkdirp, treeStats } from '../shared/fsx.js';
import { InboxPaths, LAYOUT_FILES, LayoutPaths } from '../shared/paths.js';
import { importBundle } from './import.js';
import { formatImportReport } from './commands.js';
import type { Logger } from 'pino';
import { pathExistsSync } from '../shared/syncfs.js';

export interface InboxOptions {
  dir: string;
  root: string;
  logger: Logger;
  /** How long a bundle's size must hold still before it is taken (ms). */
  stableMs?: number;
}

export interface Inbox {
  close(): Promise<void>;
}

const BUNDLE_FILE = /\.(tar|tar\.gz|tgz)$/;

export async function startInbox(opts: InboxOptions): Promise<Inbox> {
  const inbox = new InboxPaths(opts.dir);
  const stableMs = opts.stableMs ?? 1000;
  await mkdirp(inbox.done());
  await mkdirp(inbox.failed());
  const busy = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const skip = (name: string | undefined): name is undefined =>
    name === undefined || name.startsWith('.') || name.includes('.partial') || name === 'done' || name === 'failed';

  const enqueue = (name: string, ready: () => Promise<boolean>) => {
    if (busy.has(name)) return;
    busy.add(name);
    queue = queue.then(async () => {
      try {
        if (!closed && (await ready())) await take(name);
      } catch (err) {
        opts.logger.error({ err, bundle: name }, 'inbox: could not process bundle');
      } finally {
        busy.delete(name);
      }
    });
  };

  const take = async (name: string): Promise<void> => {
    const source = inbox.entry(name);
    if (!pathExistsSync(source)) return;
    const started = Date.now();
    let outcome: 'done' | 'failed';
    let text: string;
    try {
      const report = await importBundle({ root: opts.root, source });
      outcome = 'done';
      text = formatImportReport({ ...report, source: name });
      opts.logger.info({ bundle: name, ...report, ms: Date.now() - started }, `inbox: imported ${name}`);
    } catch (err) {
      outcome = 'failed';
      text = `refused ${name}, nothing was imported: ${(err as Error).message}`;
      opts.logger.warn({ bundle: name, error: (err as Error).message }, `inbox: refused ${name}`);
    }
    let dest = inbox.processed(outcome, name);
    if (pathExistsSync(dest)) dest = inbox.processed(outcome, name, `.${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await fs.rename(source, dest);
    await fs.writeFile(inbox.report(dest), `${outcome === 'done' ? 'imported' : 'failed'} at ${new Date().toISOString()} in ${Date.now() - started}ms\n${text}\n`);
  };

  /** A directory bundle is ready once it has a layout and its size and mtimes hold still for stableMs. */
  const dirReady = (name: string) => async (): Promise<boolean> => {
    const layout = new LayoutPaths(inbox.entry(name));
    for (let tries = 0; tries < 600 && !closed; tries++) {
      const before = await treeStats(layout.dir);
      await new Promise((r) => setTimeout(r, stableMs));
      const after = await treeStats(layout.dir);
      const complete = pathExistsSync(layout.index()) && pathExistsSync(layout.ociLayout());
      if (complete && before.bytes === after.bytes && before.mtimeMs === after.mtimeMs) return true;
    }
    return false;
  };

  const watcher: FSWatcher = watch(opts.dir, {
    depth: 0,
    ignoreInitial: false,
    awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: Math.min(100, stableMs) },
  });
  watcher.on('add', (p) => {
    const name = inbox.topLevelName(p);
    if (!skip(name) && BUNDLE_FILE.test(name)) enqueue(name, async () => true);
  });
  watcher.on('addDir', (p) => {
    const name = inbox.topLevelName(p);
    if (!skip(name)) enqueue(name, dirReady(name));
  });
  watcher.on('error', (err) => opts.logger.error({ err }, 'inbox: watcher error'));
  await new Promise<void>((ok) => watcher.once('ready', () => ok()));
  opts.logger.info({ inbox: opts.dir, layout: LAYOUT_FILES.index }, `watching ${opts.dir} for bundles`);

  return {
    async close() {
      closed = true;
      await watcher.close();
      await queue;
    },
  };
}
