// `npm run bench:scale [-- --quick]`: what a request costs as the store grows. Builds,
// through the API of one fresh daemon: a repository of N tags at one revision, a tag
// with N revisions in its history, and R small repositories pushed by 16 clients;
// then times each listing's pages against the same listing of a 100-entry store, a
// gc over it all (with its peak RSS), and the daemon's RSS. The same tags and history
// go to CNCF Distribution too, whose offline garbage-collect is the GC row's peer.
// Prints each row with its baseline and ratio. Sizes are options (100,000 by
// default; --quick: 5,000).
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type Client, expectStatus, median, pool, timed } from './http.js';
import { blob, image, pushMonolithic, putManifest } from './images.js';
import { CLI, type Server, findPeers, peakRssOf, startCairn, startDistribution, tempBase } from './servers.js';
import { runChild } from './gc.js';

const argv = await yargs(hideBin(process.argv))
  .option('quick', { type: 'boolean', default: false, describe: '5,000 tags and history entries, 500 repositories' })
  .option('tags', { type: 'number', describe: 'tags in one repository (default 100000)' })
  .option('history', { type: 'number', describe: 'revisions in one tag’s history (default 100000)' })
  .option('repos', { type: 'number', describe: 'repositories pushed by 16 clients (default 10000)' })
  .option('peer', { type: 'boolean', default: true, describe: 'build the tags and history in Distribution 2.8 too, for the GC row (--no-peer: Cairn alone)' })
  .option('save-root', { type: 'string', describe: "copy Cairn's built root here before its gc (to profile gc again)" })
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
const peer = argv.peer ? findPeers(log).find((p) => p.label === '2.8') : undefined;
const distribution = peer && (await startDistribution(base, peer));
const c = server.client;
const rows: { what: string; baseline: number; value: number; unit: string; target: string }[] = [];
const tagName = (i: number) => `t${String(i).padStart(7, '0')}`;
const layer = blob(Buffer.alloc(256, 1));
const one = image([layer], 'scale-one');

/** The GC row's content, the same on both registries: N tags at one revision, and one tag through N revisions. */
async function buildGcContent(s: Server, putRate?: number[]): Promise<void> {
  for (const repo of ['s/tags', 's/hist']) {
    expectStatus(await pushMonolithic(s.client, repo, layer), 'layer', 201);
    expectStatus(await pushMonolithic(s.client, repo, one.blobs[1]!), 'config', 201);
  }
  const tagsBuilt = await timed(() => pool(Array.from({ length: N.tags }, (_, i) => tagName(i)), 8, (t) => putManifest(s.client, 's/tags', t, one.manifest)));
  log(`  ${s.kind}: ${(N.tags / tagsBuilt.seconds).toFixed(0)} tag PUTs/s`);
  await buildHistory(s.client, 's/hist', N.history, putRate);
}

/** `n` revisions of repo:latest: configs pushed 16 at a time, a thousand at once, then the manifests in order. */
async function buildHistory(client: Client, repo: string, n: number, rate?: number[]): Promise<void> {
  for (let from = 0; from < n; from += 1000) {
    const images = Array.from({ length: Math.min(1000, n - from) }, (_, i) => image([layer], `${repo}-${from + i}`));
    await pool(images, 16, async (img) => expectStatus(await pushMonolithic(client, repo, img.blobs[1]!), 'config', 201));
    const t0 = process.hrtime.bigint();
    for (const img of images) await putManifest(client, repo, 'latest', img.manifest);
    if (images.length === 1000) rate?.push(1000 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
}

try {
  for (const repo of ['s/small', 's/hist100']) {
    expectStatus(await pushMonolithic(c, repo, layer), 'layer', 201);
    expectStatus(await pushMonolithic(c, repo, one.blobs[1]!), 'config', 201);
  }
  log(`${N.tags} tags at one revision, ${N.history} revisions of one tag…`);
  const putRate: number[] = [];
  await buildGcContent(server, putRate);
  await pool(Array.from({ length: 100 }, (_, i) => tagName(i)), 8, (t) => putManifest(c, 's/small', t, one.manifest));
  await buildHistory(c, 's/hist100', 100);

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

  if (argv['save-root']) {
    await rm(argv['save-root'], { recursive: true, force: true });
    execFileSync('cp', ['-a', server.root, argv['save-root']]);
  }
  log('gc…');
  const gc = await timed(() => runChild(process.execPath, [CLI, 'gc', '--root', server.root, '--grace', '0s', '--json'], false));
  if (gc.value.code !== 0) throw new Error(`cairn gc exited ${gc.value.code}: ${gc.value.stderr}`);
  let peerGc: typeof gc | undefined;
  if (distribution) {
    log(`the same tags and history in Distribution ${peer!.label}…`);
    await buildGcContent(distribution);
    await distribution.stop(); // its garbage-collect runs offline
    peerGc = await timed(() => runChild(distribution.binary!, ['garbage-collect', '--delete-untagged', distribution.config!], false));
    if (peerGc.value.code !== 0) throw new Error(`garbage-collect exited ${peerGc.value.code}: ${peerGc.value.stderr.slice(-2000)}`);
  }
  const gcWhat = `gc over ${N.history} revisions of one tag and ${N.tags} tags`;
  rows.push({ what: `cairn ${gcWhat}, --grace 0s`, baseline: 30, value: gc.seconds, unit: 's', target: '≤ 30 s' });
  if (peerGc) rows.push({ what: `the same, against garbage-collect --delete-untagged (Distribution ${peer!.label}, offline)`, baseline: peerGc.seconds, value: gc.seconds, unit: 's', target: '≤ 0.5×' });
  rows.push({ what: 'cairn gc peak RSS', baseline: peerGc?.value.peakMiB ?? 0, value: gc.value.peakMiB ?? NaN, unit: 'MiB', target: peerGc ? 'reported (baseline: garbage-collect)' : 'reported' });
} finally {
  c.close();
  await server.stop();
  await distribution?.stop();
  await rm(base, { recursive: true, force: true });
}

process.stdout.write(`Cairn at scale — ${new Date().toISOString()} (tags ${N.tags}, history ${N.history}, repositories ${N.repos})\n\n`);
process.stdout.write('| what | baseline | measured | ratio | unit | target |\n| --- | ---: | ---: | ---: | --- | --- |\n');
for (const r of rows) {
  process.stdout.write(`| ${r.what} | ${r.baseline.toFixed(2)} | ${r.value.toFixed(2)} | ${r.baseline ? (r.value / r.baseline).toFixed(2) : '—'}× | ${r.unit} | ${r.target} |\n`);
}
