// Many small writes: small images pushed at concurrency 16, tags PUT at
// concurrency 16, then tags/list read whole and walked with ?n=100 (checked: the
// tags come back sorted, every page but the last carries a Link to the next).
import { randomBytes } from 'node:crypto';
import { type Image, pushImage, putManifest, smallImage } from './images.js';
import { type Client, expectStatus, median, pool, timed, walkLinks } from './http.js';
import { WALK_WARMUPS } from './ceilings.js';
import { type Context, type Row, alternate, row, usageRows, withUsage } from './scenario.js';
import type { Kind } from './servers.js';
import { fmt } from './table.js';

const CONCURRENCY = 16;
export const TAGS_REPO = 'bench/tags';
export const PAGE = 100;

export async function smallImages(ctx: Context): Promise<Row[]> {
  const n = ctx.sizes.smallImages;
  const images = Array.from({ length: n }, (_, i) => smallImage(1024, `small-${i}`));
  const rate: Partial<Record<Kind, number>> = {};
  const usage = await withUsage(ctx, () =>
    alternate(ctx, 0, async (s) => {
      const { seconds } = await timed(() => pool(images, CONCURRENCY, (img, i) => pushImage(s.client, 'bench/small', img, `v${i}`)));
      rate[s.kind] = n / seconds;
      ctx.log(`  ${s.kind}: ${n} images in ${seconds.toFixed(2)} s`);
    }),
  );
  const group = `${n} small images (1 KiB layer + config + manifest)`;
  return [
    row({ group, metric: `push at concurrency ${CONCURRENCY}`, unit: 'images/s', better: 'higher', cairn: rate.cairn, distribution: rate.distribution, ratioTarget: 2 }),
    ...usageRows(group, usage),
  ];
}

interface ListCheck {
  ok: boolean;
  why?: string;
}

async function listWhole(c: Client): Promise<string[]> {
  const res = expectStatus(await c.request('GET', `/v2/${TAGS_REPO}/tags/list`), 'tags/list', 200);
  return (JSON.parse(res.body.toString()) as { tags: string[] }).tags;
}

/** Follows Link headers from ?n=100; returns the tags and the number of pages. */
function listWalked(c: Client): Promise<{ tags: string[]; pages: number; links: number }> {
  return walkLinks(c, `/v2/${TAGS_REPO}/tags/list?n=${PAGE}`);
}

/** Same tags as expected, in sorted order; says what is wrong otherwise. */
function check(got: string[], expected: string[]): ListCheck {
  const problems: string[] = [];
  const want = new Set(expected);
  if (got.length !== expected.length || !got.every((t) => want.has(t))) problems.push(`${got.length} tags returned for ${expected.length} pushed`);
  const unsorted = got.findIndex((t, i) => i > 0 && got[i - 1]! > t);
  if (unsorted > 0) problems.push(`not sorted (#${unsorted} ${got[unsorted]} after ${got[unsorted - 1]})`);
  return problems.length ? { ok: false, why: problems.join('; ') } : { ok: true };
}

export async function tagsScenario(ctx: Context): Promise<Row[]> {
  const n = ctx.sizes.tags;
  // Random names, PUT in random order: the list must come back sorted by the registry, not by luck.
  const names = Array.from({ length: n }, () => `t-${randomBytes(6).toString('hex')}`);
  const expected = [...new Set(names)].sort();
  const img: Image = smallImage(1024, 'tags');
  const rate: Partial<Record<Kind, number>> = {};
  const putUsage = await withUsage(ctx, () =>
    alternate(ctx, 0, async (s) => {
      await pushImage(s.client, TAGS_REPO, img, img.manifest.digest);
      const { seconds } = await timed(() => pool(names, CONCURRENCY, (tag) => putManifest(s.client, TAGS_REPO, tag, img.manifest)));
      rate[s.kind] = n / seconds;
      ctx.log(`  ${s.kind}: ${n} tag PUTs in ${seconds.toFixed(2)} s`);
    }),
  );

  const wholeMs: Record<Kind, number[]> = { cairn: [], distribution: [] };
  const walkMs: Record<Kind, number[]> = { cairn: [], distribution: [] };
  const wholeOk: Partial<Record<Kind, ListCheck>> = {};
  const walkOk: Partial<Record<Kind, ListCheck>> = {};
  const rounds = ctx.sizes.quick ? 3 : 7;
  // Untimed walks first, for both: Node compiles a route's code only after some
  // thousand requests (a fresh walk of 50 pages took 12-18 ms, 6-7 ms after 200 walks),
  // and a registry that serves tags/list is past that. The first one is reported.
  const coldMs: Partial<Record<Kind, number>> = {};
  for (let i = 0; i < WALK_WARMUPS; i++) {
    await alternate(ctx, i, async (s) => {
      const { seconds } = await timed(() => listWalked(s.client));
      coldMs[s.kind] ??= seconds * 1000;
    });
  }
  const listUsage = await withUsage(ctx, async () => {
    for (let round = 0; round < rounds; round++) {
      await alternate(ctx, round, async (s) => {
        const whole = await timed(() => listWhole(s.client));
        wholeMs[s.kind].push(whole.seconds * 1000);
        wholeOk[s.kind] ??= check(whole.value, expected);
        const walk = await timed(() => listWalked(s.client));
        walkMs[s.kind].push(walk.seconds * 1000);
        if (!walkOk[s.kind]) {
          const pages = Math.ceil(expected.length / PAGE);
          const c = check(walk.value.tags, expected);
          const paging = walk.value.pages === pages ? undefined : `${walk.value.pages} page(s) and ${walk.value.links} Link(s) for ${pages} pages of ${PAGE}`;
          walkOk[s.kind] = paging ? { ok: false, why: [c.why, paging].filter(Boolean).join('; ') } : c;
        }
      });
    }
  });
  const describe = (c: ListCheck | undefined) => (c?.ok ? 'correct' : `WRONG (${c?.why})`);
  const group = `${n} tags`;
  return [
    row({ group, metric: `tag PUT at concurrency ${CONCURRENCY}`, unit: 'tags/s', better: 'higher', cairn: rate.cairn, distribution: rate.distribution, ratioTarget: 2 }),
    ...usageRows(`${group}: PUT`, putUsage),
    row({
      group,
      metric: 'tags/list whole',
      unit: 'ms',
      better: 'lower',
      cairn: median(wholeMs.cairn),
      distribution: median(wholeMs.distribution),
      ratioTarget: 1,
      extra: { text: 'sorted', pass: !!wholeOk.cairn?.ok },
      note: `median of ${rounds}; Cairn ${describe(wholeOk.cairn)}, Distribution ${describe(wholeOk.distribution)}`,
    }),
    row({
      group,
      metric: `tags/list walked ?n=${PAGE} (Link)`,
      unit: 'ms',
      better: 'lower',
      cairn: median(walkMs.cairn),
      distribution: median(walkMs.distribution),
      // Distribution answers one unsorted page: its time is shown, not a bound. The bound is the same pages from a bare server.
      extra: { text: `≤ 1.5× the bare-server floor (${fmt(1.5 * ctx.ceilings.walkFloorMs, 'ms')} ms) and sorted + Link`, pass: median(walkMs.cairn) <= 1.5 * ctx.ceilings.walkFloorMs && !!walkOk.cairn?.ok },
      note:
        `median of ${rounds} after ${WALK_WARMUPS} untimed walks each (the first: Cairn ${fmt(coldMs.cairn, 'ms')}, Distribution ${fmt(coldMs.distribution, 'ms')} ms); ` +
        `Cairn ${describe(walkOk.cairn)}, Distribution ${describe(walkOk.distribution)}; ` +
        `the same ${ctx.ceilings.walkPages} round trips to a bare Node server, warm: ${fmt(ctx.ceilings.walkFloorMs, 'ms')} ms (ceilings)`,
    }),
    ...usageRows(`${group}: list`, listUsage),
  ];
}
