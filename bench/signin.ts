// Sign-in flood: while 20 clients send Basic credentials of unknown users as fast as
// they can, one signed-in user sends GET /v2/ one after another; its p99 is the row
// (Cairn's target: under 50 ms). Each target runs with an htpasswd file of one
// user at `htpasswd -B`'s cost (5), on a root of its own.
import { hashSync } from '@node-rs/bcrypt';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from './http.js';
import { type Context, type Row, row } from './scenario.js';
import { type Server, startCairn, startDistribution } from './servers.js';

const FLOODERS = 20;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export async function signinFlood(ctx: Context, base: string = ctx.base): Promise<Row[]> {
  const htpasswd = join(base, 'signin.htpasswd');
  await writeFile(htpasswd, `alice:${hashSync('secret', 5).replace(/^\$2b\$/, '$2y$')}\n`);
  const cairn = await startCairn(base, { rootName: `signin-cairn-${ctx.peer.label}`, serveArgs: ['--auth', 'htpasswd', '--htpasswd', htpasswd] });
  const distribution = await startDistribution(base, ctx.peer, {
    rootName: `signin-distribution-${ctx.peer.label}`,
    extra: ['auth:', '  htpasswd:', '    realm: bench', `    path: ${htpasswd}`],
  });
  try {
    const measured: Record<string, { p99: number; attempts: number }> = {};
    for (const s of [cairn, distribution]) measured[s.kind] = await flood(s, ctx.sizes.loadSeconds);
    ctx.log(`  signed-in p99: Cairn ${measured.cairn!.p99.toFixed(1)} ms, Distribution ${measured.distribution!.p99.toFixed(1)} ms`);
    return [
      row({
        group: 'sign-in flood',
        metric: `signed-in GET /v2/ p99, ${FLOODERS} clients of unknown users`,
        unit: 'ms',
        better: 'lower',
        cairn: measured.cairn!.p99,
        distribution: measured.distribution!.p99,
        extra: { text: 'Cairn < 50 ms', pass: measured.cairn!.p99 < 50 },
      }),
      row({
        group: 'sign-in flood',
        metric: 'unknown-user attempts answered',
        unit: 'req/s',
        better: 'higher',
        cairn: measured.cairn!.attempts,
        distribution: measured.distribution!.attempts,
        note: 'informational: Cairn refuses past 64 waiting checks with 429',
      }),
    ];
  } finally {
    await Promise.all([cairn.stop(), distribution.stop()]);
  }
}

async function flood(s: Server, seconds: number): Promise<{ p99: number; attempts: number }> {
  const until = Date.now() + seconds * 1000;
  const flooders = new Client(s.url, FLOODERS);
  const user = new Client(s.url, 1);
  const alice = { Authorization: basic('alice', 'secret') };
  if ((await user.request('GET', '/v2/', { headers: alice })).status !== 200) throw new Error(`${s.kind}: alice cannot sign in`);
  let attempts = 0;
  const loops = Array.from({ length: FLOODERS }, async (_, i) => {
    for (let n = 0; Date.now() < until; n++) {
      await flooders.request('GET', '/v2/', { headers: { Authorization: basic(`nobody-${i}-${n}`, 'wrong') } });
      attempts++;
    }
  });
  const latencies: number[] = [];
  while (Date.now() < until) {
    const t = process.hrtime.bigint();
    const r = await user.request('GET', '/v2/', { headers: alice });
    if (r.status !== 200) throw new Error(`${s.kind}: a signed-in GET /v2/ answered ${r.status}`);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await Promise.all(loops);
  flooders.close();
  user.close();
  latencies.sort((a, b) => a - b);
  return { p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!, attempts: attempts / seconds };
}
