// Blob scenarios: one big blob pushed monolithic and chunked, then pulled with the
// digest checked by the client; and many clients uploading the same blob at once.
import { randomFillSync } from 'node:crypto';
import { type Blob, blob, pullVerified, pushChunked, pushMonolithic } from './images.js';
import { MiB, expectStatus, median, pool, timed } from './http.js';
import { type Context, type Row, type Usage, alternate, mergeUsage, row, usageRows, withUsage } from './scenario.js';
import type { Kind } from './servers.js';

const REPO = 'bench/big';

export async function bigBlob(ctx: Context): Promise<Row[]> {
  const { blobBytes, blobRounds, chunkBytes } = ctx.sizes;
  const data = randomFillSync(Buffer.allocUnsafe(blobBytes));
  let variant = 0;
  /** Same buffer, new first 8 bytes: a new blob. The previous digest stays valid for a pull: the server has those bytes. */
  const fresh = (): Blob => {
    data.writeBigUInt64BE(BigInt(Date.now()) * 1000n + BigInt(variant++), 0);
    return blob(data);
  };
  const mib = blobBytes / MiB;
  const speeds = { mono: { cairn: [], distribution: [] }, chunked: { cairn: [], distribution: [] }, pull: { cairn: [], distribution: [] } } as Record<
    'mono' | 'chunked' | 'pull',
    Record<Kind, number[]>
  >;
  const pushed: Partial<Record<Kind, string>> = {};

  const none: Usage = { rss: {}, cpu: {} };
  const usage = { push: none, pull: none };
  const keepUsage = (which: 'push' | 'pull', u: Usage) => (usage[which] = mergeUsage(usage[which], u));

  for (let round = 0; round < blobRounds; round++) {
    keepUsage(
      'push',
      await withUsage(ctx, () =>
        alternate(ctx, round, async (s) => {
          // One buffer, changed before each push: a blob this target has not seen (hashed outside the timing).
          const mono = fresh();
          const m = await timed(async () => expectStatus(await pushMonolithic(s.client, REPO, mono), 'monolithic push', 201));
          speeds.mono[s.kind].push(mib / m.seconds);
          pushed[s.kind] = mono.digest;
          const chunked = fresh();
          const c = await timed(() => pushChunked(s.client, REPO, chunked, chunkBytes));
          speeds.chunked[s.kind].push(mib / c.seconds);
          ctx.log(`  round ${round + 1} ${s.kind}: monolithic ${(mib / m.seconds).toFixed(0)} MiB/s, chunked ${(mib / c.seconds).toFixed(0)} MiB/s`);
        }),
      ),
    );
  }
  // One untimed pull each first: this VM's kernel pages out page cache it sees as idle
  // (DAMON, `pageout` after ~60 s, up to 128 MiB/s), and each target's blob has waited
  // a different time since its push, so timed pulls would compare cache states.
  for (const s of [ctx.cairn, ctx.distribution]) await pullVerified(s.client, REPO, pushed[s.kind]!);
  for (let round = 0; round < blobRounds; round++) {
    keepUsage(
      'pull',
      await withUsage(ctx, () =>
        alternate(ctx, round, async (s) => {
          const p = await timed(() => pullVerified(s.client, REPO, pushed[s.kind]!));
          speeds.pull[s.kind].push(mib / p.seconds);
          ctx.log(`  round ${round + 1} ${s.kind}: pull ${(mib / p.seconds).toFixed(0)} MiB/s`);
        }),
      ),
    );
  }

  const group = `${mib} MiB blob`;
  const c = ctx.ceilings;
  // On one thread a push receives, hashes and durably writes every byte, and those
  // costs add: the serial ceiling is what a push can reach at best.
  const durable = c.writeDirectNewMiBs ?? c.writeFsyncNewMiBs;
  const serial = 1 / (1 / c.loopbackDiscardMiBs + 1 / c.sha256MiBs + 1 / durable);
  // What a pull can reach at best: the client hashes every byte on the same two cores.
  const pullBound = c.loopbackFileHashedMiBs;
  const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(0)}%`;
  const pushRow = (metric: string, xs: Record<Kind, number[]>) => {
    const cairn = median(xs.cairn);
    return row({
      group,
      metric,
      unit: 'MiB/s',
      better: 'higher',
      cairn,
      distribution: median(xs.distribution),
      ratioTarget: 2,
      extra: { text: `≥ 80% of the serial ceiling (${(0.8 * serial).toFixed(0)})`, pass: cairn >= 0.8 * serial },
      note:
        `median of ${xs.cairn.length} [Cairn ${xs.cairn.map((x) => x.toFixed(0)).join(', ')}; Distribution ${xs.distribution.map((x) => x.toFixed(0)).join(', ')}]; ` +
        `Cairn at ${pct(cairn, serial)} of the serial ceiling 1/(1/discard + 1/sha256 + 1/durable write) = ${serial.toFixed(0)} MiB/s ` +
        `(discard ${c.loopbackDiscardMiBs.toFixed(0)}, sha256 ${c.sha256MiBs.toFixed(0)}, durable write of new files ${durable.toFixed(0)})`,
    });
  };
  return [
    pushRow('push, monolithic (POST + PUT ?digest=)', speeds.mono),
    pushRow(`push, chunked (${chunkBytes / MiB} MiB PATCHes)`, speeds.chunked),
    row({
      group,
      metric: 'warm pull (client verifies digest)',
      unit: 'MiB/s',
      better: 'higher',
      cairn: median(speeds.pull.cairn),
      distribution: median(speeds.pull.distribution),
      extra: { text: `≥ 90% of the hashing-client ceiling (${(0.9 * pullBound).toFixed(0)})`, pass: median(speeds.pull.cairn) >= 0.9 * pullBound },
      note:
        `median of ${speeds.pull.cairn.length} [Cairn ${speeds.pull.cairn.map((x) => x.toFixed(0)).join(', ')}; Distribution ${speeds.pull.distribution.map((x) => x.toFixed(0)).join(', ')}]; ` +
        `Cairn at ${pct(median(speeds.pull.cairn), pullBound)}, Distribution at ${pct(median(speeds.pull.distribution), pullBound)} of a bare Node server with the client hashing (${pullBound.toFixed(0)} MiB/s)`,
    }),
    ...usageRows(`${group}: ${blobRounds} × both pushes`, usage.push),
    ...usageRows(`${group}: ${blobRounds} × pull`, usage.pull),
  ];
}

/** N clients push the same blob at the same moment; every one must get 201 and the blob must read back intact. */
export async function sameBlob(ctx: Context): Promise<Row[]> {
  const { sameBlobClients: n, sameBlobBytes: bytes } = ctx.sizes;
  const b = blob(randomFillSync(Buffer.allocUnsafe(bytes)));
  const secs: Partial<Record<Kind, number>> = {};
  const ok: Partial<Record<Kind, number>> = {};
  const usage = await withUsage(ctx, () =>
    alternate(ctx, 0, async (s) => {
      const { seconds, value } = await timed(() =>
        pool(Array.from({ length: n }, (_, i) => i), n, async () => {
          try {
            return (await pushMonolithic(s.client, 'bench/same', b)).status === 201;
          } catch {
            return false;
          }
        }),
      );
      let good = value.filter(Boolean).length;
      try {
        await pullVerified(s.client, 'bench/same', b.digest);
      } catch {
        good = 0; // the stored blob is wrong or missing: nobody really succeeded
      }
      secs[s.kind] = seconds;
      ok[s.kind] = good;
      ctx.log(`  ${s.kind}: ${good}/${n} succeeded in ${seconds.toFixed(2)} s`);
    }),
  );
  const group = `${n} clients, same ${bytes / MiB} MiB blob`;
  return [
    row({
      group,
      metric: 'all uploads at once: wall time',
      unit: 's',
      better: 'lower',
      cairn: secs.cairn,
      distribution: secs.distribution,
      extra: { text: `all ${n} succeed`, pass: ok.cairn === n },
      note: `succeeded: Cairn ${ok.cairn}/${n}, Distribution ${ok.distribution}/${n}`,
    }),
    ...usageRows(group, usage),
  ];
}
