// What the daemon's caches buy, and what the watcher costs (store/cache.ts, watch.ts).
//   npx tsc -p . && node dist/bench/cache.js [repositories=1000]
// Prints: GET-by-tag work uncached vs stat-validated; a catalog walk vs the cache;
// inotify watches the watcher holds over a tree of that many repositories.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../daemon/log.js';
import { BlobStore } from '../store/blobs.js';
import { ManifestCache, TagCache } from '../store/cache.js';
import { ManifestStore } from '../store/manifests.js';
import { Repositories } from '../store/repository.js';
import { SignatureStore } from '../store/signatures.js';
import { watchTree } from '../daemon/watch.js';
import { digestOf } from '../shared/digest.js';
import { Paths } from '../shared/paths.js';

const REPOS = Number(process.argv[2] ?? 1000);
const root = await mkdtemp(join(tmpdir(), 'cairn-bench-'));
const paths = new Paths(root);
await mkdir(paths.tmpDir(), { recursive: true });

// One real image manifest (its blobs need not exist for resolve), tagged in repository "bench".
const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1 }, layers: [] }));
const d = digestOf(body);
const blobs = new BlobStore(paths);
await blobs.write(d, body);
const plainRepos = new Repositories(paths);
await plainRepos.linkRevision('bench', d, 'application/vnd.oci.image.manifest.v1+json');
await plainRepos.setTag('bench', 'latest', d);

async function timeIt(label: string, n: number, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(1)} µs/op`);
}

const plain = new ManifestStore(plainRepos, blobs, new SignatureStore(paths));
const tagCache = new TagCache();
const cachedRepos = new Repositories(paths, tagCache);
const cached = new ManifestStore(cachedRepos, blobs, new SignatureStore(paths), new ManifestCache());
await timeIt('GET bench:latest, uncached (resolve + body)', 3000, async () => plain.body(await plain.resolve('bench', { tag: 'latest' })));
await timeIt('GET bench:latest, stat-validated cache', 3000, async () => cached.body(await cached.resolve('bench', { tag: 'latest' })));

// A tree of REPOS repositories, three tags and a revision each, as the daemon lays them out.
for (let i = 0; i < REPOS; i++) {
  const name = `team${i % 50}/app${i}`;
  await mkdir(paths.layersDir(name), { recursive: true });
  await mkdir(join(paths.revisionsDir(name), 'sha256'), { recursive: true });
  for (const t of ['a', 'b', 'c']) {
    await mkdir(join(paths.tagIndexDir(name, t), 'sha256'), { recursive: true });
    await writeFile(paths.tagCurrent(name, t), 'x');
  }
}
await timeIt(`catalog of ${REPOS} repositories, walked`, 20, () => plainRepos.listRepositories());
const watcher = await watchTree(paths.repositoriesDir(), tagCache, 'inotify', createLogger('silent'));
await timeIt(`catalog of ${REPOS} repositories, cached`, 20, () => cachedRepos.listRepositories());
console.log(`inotify watches held by the watcher: ${await inotifyWatches()} (for ${REPOS} repositories, ${REPOS * 3} tags)`);
await watcher.close();
await rm(root, { recursive: true, force: true });

/** Watches on this process's inotify descriptors (Linux: one "inotify wd:" line each in fdinfo). */
async function inotifyWatches(): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fdinfo')) {
    const text = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    n += text.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
  }
  return n;
}
