// What a CI-then-deploy job does, and the pull that follows a push at once:
//  - first pull: a fresh blob pushed, then pulled straight away by a hashing client
//    (a blob just written may or may not be in the page cache, and that is the row);
//  - pipeline: 20 images of 5 layers (1 KiB to 64 MiB; --quick: to 16 MiB) pushed at
//    concurrency 4, then every one pulled back, hashed, at concurrency 4; total time.
import { randomFillSync } from 'node:crypto';
import { MiB, expectStatus, median, pool, timed } from './http.js';
import { type Blob, blob, image, pullVerified, pushMonolithic, putManifest } from './images.js';
import { type Context, type Row, alternate, row } from './scenario.js';
import type { Kind, Server } from './servers.js';

export async function pipelineScenario(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const { blobBytes, blobRounds } = ctx.sizes;
  const data = randomFillSync(Buffer.allocUnsafe(blobBytes));
  let variant = 0;
  const fresh = (): Blob => {
    data.writeBigUInt64BE(BigInt(Date.now()) * 1000n + BigInt(variant++), 0);
    return blob(data);
  };
  const first: Record<Kind, number[]> = { cairn: [], distribution: [] };
  for (let round = 0; round < blobRounds; round++) {
    await alternate(ctx, round, async (s) => {
      const b = fresh();
      expectStatus(await step(s, 'push', () => pushMonolithic(s.client, 'pipe/first', b)), 'push', 201);
      const p = await step(s, 'pull', () => timed(() => pullVerified(s.client, 'pipe/first', b.digest)));
      first[s.kind].push(blobBytes / MiB / p.seconds);
    });
  }
  ctx.log(`  first pull after push: Cairn ${first.cairn.map((x) => x.toFixed(0)).join(', ')}; Distribution ${first.distribution.map((x) => x.toFixed(0)).join(', ')} MiB/s`);
  rows.push(row({
    group: `${blobBytes / MiB} MiB blob`,
    metric: 'first pull, right after its push (client verifies)',
    unit: 'MiB/s',
    better: 'higher',
    cairn: median(first.cairn),
    distribution: median(first.distribution),
    ratioTarget: 1,
    note: `median of ${first.cairn.length}`,
  }));

  const sizes = [1024, 64 * 1024, MiB, 16 * MiB, ...(ctx.sizes.quick ? [] : [64 * MiB])];
  const layerData = sizes.map((n) => randomFillSync(Buffer.allocUnsafe(n)));
  const images = Array.from({ length: 20 }, (_, i) =>
    image(
      layerData.map((d) => {
        d.writeUInt32BE(i, 0);
        return blob(Buffer.from(d));
      }),
      `pipeline-${i}-${Date.now()}`,
    ),
  );
  const bytes = images.reduce((n, img) => n + img.blobs.reduce((m, b) => m + b.data.length, 0), 0);
  const seconds: Partial<Record<Kind, number>> = {};
  await alternate(ctx, 0, async (s) => {
    const push = await timed(() =>
      pool(images, 4, async (img, i) => {
        for (const b of img.blobs) expectStatus(await step(s, `push of ${b.data.length} bytes`, () => pushMonolithic(s.client, `pipe/app${i}`, b)), 'push', 201);
        await step(s, 'manifest PUT', () => putManifest(s.client, `pipe/app${i}`, 'v1', img.manifest));
      }),
    );
    const pull = await timed(() =>
      pool(images, 4, async (img, i) => {
        for (const b of img.blobs) await step(s, `pull of ${b.data.length} bytes`, () => pullVerified(s.client, `pipe/app${i}`, b.digest));
      }),
    );
    seconds[s.kind] = push.seconds + pull.seconds;
    ctx.log(`  pipeline ${s.kind}: ${(push.seconds + pull.seconds).toFixed(2)} s for ${(bytes / MiB).toFixed(0)} MiB pushed and pulled (push ${push.seconds.toFixed(2)} s, pull ${pull.seconds.toFixed(2)} s)`);
  });
  rows.push(row({
    group: 'pipeline',
    metric: `20 images × ${sizes.length} layers (${(bytes / MiB).toFixed(0)} MiB) pushed at 4, then pulled at 4`,
    unit: 's',
    better: 'lower',
    cairn: seconds.cairn,
    distribution: seconds.distribution,
    ratioTarget: 0.67,
    note: 'target: 1.5× faster than Distribution',
  }));
  return rows;
}

/** Runs one request of the scenario; a failure names the target and the step. */
async function step<T>(s: Server, what: string, fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: Error) => {
    throw new Error(`${s.kind}: ${what}: ${err.message}`);
  });
}
