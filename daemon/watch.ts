// The daemon notices what other processes change under its root (with chokidar).
//
// Only the catalog depends on the watcher (see store/cache.ts for why tags and
// manifests are validated by a stat instead). So only the name folders under
// repositories/ are watched, never an underscored folder: one inotify watch per name
// component. Not `_tags` either: chokidar re-reads a folder on every change in it,
// which made each new tag cost a read of every tag (5,000 tag PUTs ran 12× slower).
// A name folder that is not yet a repository is asked at each _catalog instead
// (two stats). If the watcher fails (e.g. ENOSPC: the host's inotify watch limit is
// reached) the catalog cache is switched off and every _catalog walks the tree:
// slower, never stale.
//
// Modes: `inotify` (native events; local filesystems), `poll` (stat polling, for
// network filesystems where inotify does not see other hosts' writes), `off`.
import { relative, sep } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { TagCache } from '../store/cache.js';

export type WatchMode = 'inotify' | 'poll' | 'off';
export const WATCH_MODES: readonly WatchMode[] = ['inotify', 'poll', 'off'];

/** Poll interval: with the promise of docs/faults.md in mind (a change is served within it). */
const POLL_MS = 300;

export interface Watcher {
  close(): Promise<void>;
}

/**
 * The most name folders watched. The watcher's memory and every write's cost grow with
 * the folders it watches; past this many, it stops and every _catalog walks the tree.
 */
export const MAX_WATCHED_FOLDERS = 2000;

/** Watches `dir` (repositories/) and keeps `cache`'s catalog true to it. */
export async function watchTree(dir: string, cache: TagCache, mode: WatchMode, logger: Logger, maxFolders = MAX_WATCHED_FOLDERS): Promise<Watcher> {
  if (mode === 'off') return { close: async () => undefined };
  const watcher: FSWatcher = chokidar.watch(dir, {
    ignoreInitial: true,
    usePolling: mode === 'poll',
    interval: POLL_MS,
    binaryInterval: POLL_MS,
    followSymlinks: false,
    ignored: (p: string) => ignoredPath(dir, p),
  });
  let folders = 0;
  let stopped = false;
  const stop = async (why: string) => {
    if (stopped) return;
    stopped = true;
    cache.catalogCaching = false;
    cache.dropCatalog();
    logger.info({ folders, limit: maxFolders }, `the catalog is no longer cached: ${why}`);
    await watcher.close();
  };
  watcher.on('all', (event) => {
    cache.dropCatalog();
    if (event === 'addDir' && ++folders > maxFolders) void stop(`more than ${maxFolders} name folders to watch`);
  });
  watcher.on('error', (err) => {
    cache.catalogCaching = false;
    cache.dropCatalog();
    logger.warn({ err }, 'the tree watcher failed; the catalog is no longer cached');
  });
  await new Promise<void>((ok) => watcher.once('ready', () => ok()));
  folders = Object.keys(watcher.getWatched()).length;
  if (folders > maxFolders) await stop(`more than ${maxFolders} name folders to watch`);
  else {
    cache.dropCatalog();
    cache.catalogCaching = true;
  }
  return {
    async close() {
      cache.catalogCaching = false;
      if (!stopped) await watcher.close();
    },
  };
}

/** An underscored folder or anything in one: repository content, not the catalog's business. */
export function ignoredPath(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  if (rel === '') return false;
  return rel.split(sep).some((c) => c.startsWith('_'));
}
