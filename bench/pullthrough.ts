// The pull-through cache beside CNCF Distribution in proxy mode, both in front of one
// upstream (a Cairn of its own): a miss of a big blob (throughput and time to first
// byte, against pulling it from the upstream directly), then a cached pull (against
// a pull of a pushed blob). Every pull hashes what it receives.
import { createHash, randomFillSync } from 'node:crypto';
import { type Client, MiB, expectStatus } from './http.js';
import { blob, pushMonolithic } from './images.js';
import { type Context, type Row, row } from './scenario.js';
import { startCairn, startDistribution } from './servers.js';

const REPO = 'pt/app';

/** One verified pull of `path`: MiB/s and ms to the first body byte. */
async function pull(c: Client, path: string, digest: string, bytes: number): Promise<{ mibs: number; ttfbMs: number }> {
  const hash = createHash('sha256');
  const t0 = process.hrtime.bigint();
  let first: bigint | undefined;
  const res = await c.request('GET', path, {
    onData: (chunk) => {
      first ??= process.hrtime.bigint();
      hash.update(chunk);
    },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  expectStatus(res, `GET ${path}`, 200);
  if (`sha256:${hash.digest('hex')}` !== digest) throw new Error(`${path}: the bytes do not hash to ${digest}`);
  return { mibs: bytes / MiB / seconds, ttfbMs: Number((first ?? t0) - t0) / 1e6 };
}

export async function pullThroughScenario(ctx: Context): Promise<Row[]> {
  const bytes = ctx.sizes.blobBytes;
  const upstream = await startCairn(ctx.base, { rootName: 'pt-upstream' });
  const cache = await startCairn(ctx.base, { rootName: 'pt-cache', serveArgs: ['--upstream', `up=${upstream.url}`] });
  const proxy = await startDistribution(ctx.base, ctx.peer, { rootName: 'pt-proxy', extra: ['proxy:', `  remoteurl: ${upstream.url}`] });
  try {
    const data = randomFillSync(Buffer.allocUnsafe(bytes));
    const blobs = [0, 1].map((i) => {
      data.writeUInt32BE(i, 0);
      return blob(Buffer.from(data));
    });
    for (const b of blobs) expectStatus(await pushMonolithic(upstream.client, REPO, b), 'push to the upstream', 201);
    // Each cache misses on a blob of its own, so neither fills the upstream's page cache for the other.
    const [forCairn, forProxy] = blobs as [ReturnType<typeof blob>, ReturnType<typeof blob>];
    const direct = await pull(upstream.client, `/v2/${REPO}/blobs/${forCairn.digest}`, forCairn.digest, bytes);
    const cairnMiss = await pull(cache.client, `/v2/up/${REPO}/blobs/${forCairn.digest}`, forCairn.digest, bytes);
    const proxyMiss = await pull(proxy.client, `/v2/${REPO}/blobs/${forProxy.digest}`, forProxy.digest, bytes);
    ctx.log(`  miss: direct ${direct.mibs.toFixed(0)} MiB/s (first byte ${direct.ttfbMs.toFixed(1)} ms), Cairn ${cairnMiss.mibs.toFixed(0)} (${cairnMiss.ttfbMs.toFixed(1)} ms), Distribution proxy ${proxyMiss.mibs.toFixed(0)} (${proxyMiss.ttfbMs.toFixed(1)} ms)`);
    const pushed = await pull(upstream.client, `/v2/${REPO}/blobs/${forProxy.digest}`, forProxy.digest, bytes);
    const cairnHit = await pull(cache.client, `/v2/up/${REPO}/blobs/${forCairn.digest}`, forCairn.digest, bytes);
    const proxyHit = await pull(proxy.client, `/v2/${REPO}/blobs/${forProxy.digest}`, forProxy.digest, bytes);
    ctx.log(`  cached: Cairn ${cairnHit.mibs.toFixed(0)} MiB/s, Distribution proxy ${proxyHit.mibs.toFixed(0)}, a pushed blob ${pushed.mibs.toFixed(0)}`);
    const mib = bytes / MiB;
    return [
      row({
        group: 'pull-through',
        metric: `miss of a ${mib} MiB blob`,
        unit: 'MiB/s',
        better: 'higher',
        cairn: cairnMiss.mibs,
        distribution: proxyMiss.mibs,
        ratioTarget: 1,
        extra: { text: `≥ 90% of the upstream directly (${direct.mibs.toFixed(0)})`, pass: cairnMiss.mibs >= 0.9 * direct.mibs },
      }),
      row({
        group: 'pull-through',
        metric: 'miss: time to first byte',
        unit: 'ms',
        better: 'lower',
        cairn: cairnMiss.ttfbMs,
        distribution: proxyMiss.ttfbMs,
        extra: { text: `≤ the upstream's + 20 ms (${direct.ttfbMs.toFixed(1)})`, pass: cairnMiss.ttfbMs <= direct.ttfbMs + 20 },
      }),
      row({
        group: 'pull-through',
        metric: `cached pull of a ${mib} MiB blob`,
        unit: 'MiB/s',
        better: 'higher',
        cairn: cairnHit.mibs,
        distribution: proxyHit.mibs,
        ratioTarget: 1,
        extra: { text: `≥ 0.95× a pushed blob's pull (${pushed.mibs.toFixed(0)})`, pass: cairnHit.mibs >= 0.95 * pushed.mibs },
      }),
    ];
  } finally {
    for (const s of [cache, proxy, upstream]) s.client.close();
    await Promise.all([cache.stop(), proxy.stop(), upstream.stop()]);
  }
}
