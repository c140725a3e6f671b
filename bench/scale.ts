// `npm run bench:scale [-- --quick]`: what a request costs as the store grows. Builds,
// through the API of one fresh daemon: a repository of N tags at one revision, a tag
// with N revisions in its history, and R small repositories pushed by 16 clients;
// then times each listing's pages against the same listing of a 100-entry store, a
// gc over it all (with its peak RSS), and the daemon's RSS. Prints each row with its
// baseline and ratio. Sizes are options (100,000 by default; --quick: 5,000).
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type Client, expectStatus, median, pool, timed } from './http.js';
import { blob, image, pushMonolithic, putManifest } from './images.js';
import { CLI, peakRssOf, startCairn, tempBase } from './servers.js';

const argv = await yargs(hideBin(process.argv))
  .option('quick', { type: 'boolean', default: false, describe: '5,000 tags and history entries, 500 repositories' })
  .option('tags', { type: 'number', describe: 'tags in one repository (default 100000)' })
  .option('history', { type: 'number', describe: 'revisions in one tag’s history (default 100000)' })
  .option('repos', { type: 'number', describe: 'repositories pushed by 16 clients (default 10000)' })
  .strict()
  .parseAsync();
const N = { tags: argv.tags ?? (argv.quick ? 5000 : 100_000), history: argv.history ?? (argv.quick ? 5000 : 100_000), repos: argv.repos ?? (argv.quick ? 500 : 10_000) };
const log = (m: string) => process.stderr.write(`${m}\n`);

/** Median ms of `rounds` GETs of `path` (after two untimed). */
async function getMs(c: Client, path: string, rounds = 7): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < rounds + 2; i++) {
    const t = await timed(async () => expectStatus(await c.request('GET', path), `GET ${path}`, 200));
    if (i >= 2) ms.push(t.seconds * 1000);
  }
  return median(ms);
}

/** The `next` link of a GET, as a path. */
async function linkOf(c: Client, path: string): Promise<string | undefined> {
  const res = await c.request('GET', path);
  const link = String(res.headers.link ?? '');
  return link ? link.slice(1, link.indexOf('>')) : undefined;
}

/** Follows Link from `first` and returns the page paths, in order. */
async function pages(c: Client, first: string): Promise<string[]> {
  const out = [first];
  for (let next = await linkOf(c, first); next; next = await linkOf(c, next)) out.push(next);
  return out;
}

const base = await tempBase();
const server = await startCairn(base, { rootName: 'scale-root' });
const c = server.client;
const rows: { what: string; baseline: number; value: number; unit: string; target: string }[] = [];
try {
  const layer = blob(Buffer.alloc(256, 1));
  const one = image([layer], 'scale-one');
  for (const repo of ['s/tags', 's/small', 's/hist', 's/hist100']) {
    expectStatus(await pushMonolithic(c, repo, layer), 'layer', 201);
    expectStatus(await pushMonolithic(c, repo, one.blobs[1]!), 'config', 201);
  }
  log(`${N.tags} tags at one revision…`);
  const tagsBuilt = await timed(() => pool(Array.from({ length: N.tags }, (_, i) => `t${String(i).padStart(7, '0')}`), 8, (t) => putManifest(c, 's/tags', t, one.manifest)));
  await pool(Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(7, '0')}`), 8, (t) => putManifest(c, 's/small', t, one.manifest));
  log(`  ${(N.tags / tagsBuilt.seconds).toFixed(0)} tag PUTs/s`);

  log(`${N.history} revisions of one tag…`);
  const putRate: number[] = [];
  const build = async (repo: string, n: number, rate?: number[]) => {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const img = image([layer], `${repo}-${i}`);
      expectStatus(await pushMonolithic(c, repo, img.blobs[1]!), 'config', 201);
      await putManifest(c, repo, 'latest', img.manifest);
      if (rate && (i + 1) % 1000 === 0) {
        const now = process.hrtime.bigint();
        rate.push(1000 / (Number(now - t0) / 1e9));
        t0 = now;
      }
    }
  };
  await build('s/hist', N.history, putRate);
  await build('s/hist100', 100);

  log('listing pages…');
  const small = await getMs(c, '/v2/s/small/tags/list?n=100');
  const tagPages = await pages(c, '/v2/s/tags/tags/list?n=100');
  for (const [label, path] of [['first', tagPages[0]!], ['middle', tagPages[tagPages.length >> 1]!], ['last', tagPages.at(-1)!]] as const) {
    rows.push({ what: `tags/list?n=100 of ${N.tags} tags, ${label} page`, baseline: small, value: await getMs(c, path), unit: 'ms', target: '≤ 2× the 100-tag page' });
  }
  rows.push({ what: `_cairn/revisions?n=100, one revision at which ${N.tags} tags point`, baseline: await getMs(c, '/v2/s/small/_cairn/revisions?n=100'), value: await getMs(c, '/v2/s/tags/_cairn/revisions?n=100', 3), unit: 'ms', target: '≤ 10 ms' });
  const hist100 = await getMs(c, '/v2/s/hist100/_oci/tag-history/latest');
  const histPages = await pages(c, '/v2/s/hist/_oci/tag-history/latest');
  for (const [label, path] of [['first', histPages[0]!], ['middle', histPages[histPages.length >> 1]!], ['last', histPages.at(-1)!]] as const) {
    rows.push({ what: `_oci/tag-history of ${N.history} entries, no n, ${label} page`, baseline: hist100, value: await getMs(c, path), unit: 'ms', target: '≤ 2× a 100-entry history' });
  }
  rows.push({ what: `manifest PUTs to one tag: the last 1,000 of ${N.history} vs the first 1,000`, baseline: putRate[0] ?? 0, value: putRate.at(-1) ?? 0, unit: 'PUT/s', target: 'no slower' });

  log(`${N.repos} repositories, 16 clients…`);
  const repoPush = await timed(() =>
    pool(Array.from({ length: N.repos }, (_, i) => i), 16, async (i) => {
      const img = image([blob(Buffer.from(`repo layer ${i}`))], `repo-${i}`);
      for (const b of img.blobs) expectStatus(await pushMonolithic(c, `r${i % 100}/app${i}`, b), 'blob', 201);
      await putManifest(c, `r${i % 100}/app${i}`, 'v1', img.manifest);
    }),
  );
  rows.push({ what: `${N.repos} repositories pushed (2 blobs + 1 manifest, 16 clients)`, baseline: 68, value: N.repos / repoPush.seconds, unit: 'repos/s', target: '≥ 2× 68 (the figure measured before)' });
  rows.push({ what: 'daemon RSS after all of it', baseline: 150, value: peakRssOf(server.pid()) ?? NaN, unit: 'MiB (peak)', target: '≤ 150 MiB' });

  log('gc…');
  const gc = await timed(
    () =>
      new Promise<number>((ok, fail) => {
        const child = spawn(process.execPath, [CLI, 'gc', '--root', server.root, '--grace', '0s', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let peak = 0;
        const timer = setInterval(() => (peak = Math.max(peak, peakRssOf(child.pid!) ?? 0)), 200);
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => {
          clearInterval(timer);
          if (code === 0) ok(peak);
          else fail(new Error(`cairn gc exited ${code}: ${stderr}`));
        });
      }),
  );
  rows.push({ what: `cairn gc --grace 0s over ${N.history} revisions of one tag and ${N.tags} tags`, baseline: 30, value: gc.seconds, unit: 's', target: '≤ 30 s' });
  rows.push({ what: 'its peak RSS', baseline: 0, value: gc.value, unit: 'MiB', target: 'reported' });
} finally {
  c.close();
  await server.stop();
  await rm(base, { recursive: true, force: true });
}

process.stdout.write(`Cairn at scale — ${new Date().toISOString()} (tags ${N.tags}, history ${N.history}, repositories ${N.repos})\n\n`);
process.stdout.write('| what | baseline | measured | ratio | unit | target |\n| --- | ---: | ---: | ---: | --- | --- |\n');
for (const r of rows) {
  process.stdout.write(`| ${r.what} | ${r.baseline.toFixed(2)} | ${r.value.toFixed(2)} | ${r.baseline ? (r.value / r.baseline).toFixed(2) : '—'}× | ${r.unit} | ${r.target} |\n`);
}
