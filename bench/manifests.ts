// Manifest GET under load: autocannon at 32 connections against one small image,
// by tag and by digest, alternating targets. autocannon runs in this process, on
// the same two cores as the servers, for both targets alike.
import autocannon from 'autocannon';
import { OCI_MANIFEST, pushImage, smallImage } from './images.js';
import { type Context, type Row, alternate, row, usageRows, withUsage } from './scenario.js';
import type { Kind, Server } from './servers.js';

const REPO = 'bench/manifest';
const CONNECTIONS = 32;

interface Load {
  rps: number;
  p99: number;
  errors: number;
}

async function load(s: Server, path: string, seconds: number): Promise<Load> {
  const r = await autocannon({
    url: `${s.url}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { Accept: OCI_MANIFEST },
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

export async function manifestGets(ctx: Context): Promise<Row[]> {
  const img = smallImage(1024, 'manifest-get');
  for (const s of [ctx.cairn, ctx.distribution]) await pushImage(s.client, REPO, img, 'latest');
  const refs = [
    ['tag', 'latest'],
    ['digest', img.manifest.digest],
  ] as const;
  const rows: Row[] = [];
  let round = 0;
  for (const [by, ref] of refs) {
    const results: Partial<Record<Kind, Load>> = {};
    const usage = await withUsage(ctx, () =>
      alternate(ctx, round++, async (s) => {
        const l = await load(s, `/v2/${REPO}/manifests/${ref}`, ctx.sizes.loadSeconds);
        results[s.kind] = l;
        ctx.log(`  by ${by} ${s.kind}: ${l.rps.toFixed(0)} req/s, p99 ${l.p99} ms, ${l.errors} errors`);
      }),
    );
    const group = `manifest GET by ${by}`;
    const errors = `errors/non-2xx: Cairn ${results.cairn!.errors}, Distribution ${results.distribution!.errors}`;
    rows.push(
      row({
        group,
        metric: `requests/s (${CONNECTIONS} conns, ${ctx.sizes.loadSeconds} s)`,
        unit: 'req/s',
        better: 'higher',
        cairn: results.cairn!.rps,
        distribution: results.distribution!.rps,
        ratioTarget: 3,
        extra: results.cairn!.errors ? { text: 'no errors', pass: false } : undefined,
        note: errors,
      }),
      row({
        group,
        metric: 'latency p99',
        unit: 'ms',
        better: 'lower',
        cairn: results.cairn!.p99,
        distribution: results.distribution!.p99,
        ratioTarget: 1 / 3,
      }),
      ...usageRows(group, usage),
    );
  }
  return rows;
}
