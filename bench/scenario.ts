// What every scenario shares: the two servers, the sizes (full or --quick), the
// ceilings measured earlier in the run, and one row type for the table and JSON.
import type { Ceilings } from './ceilings.js';
import type { Peer, Server } from './servers.js';

export interface Sizes {
  quick: boolean;
  /** Rounds of each blob scenario, alternating which target goes first. */
  blobRounds: number;
  blobBytes: number;
  chunkBytes: number;
  loadSeconds: number;
  smallImages: number;
  tags: number;
  gcRevisions: number;
  sameBlobClients: number;
  sameBlobBytes: number;
}

export function sizes(quick: boolean): Sizes {
  return {
    quick,
    blobRounds: quick ? 1 : 3,
    blobBytes: (quick ? 64 : 512) << 20,
    chunkBytes: 16 << 20,
    loadSeconds: quick ? 2 : 10,
    smallImages: quick ? 50 : 200,
    tags: quick ? 500 : 5000,
    gcRevisions: quick ? 200 : 1000,
    sameBlobClients: 16,
    sameBlobBytes: 8 << 20,
  };
}

export interface Context {
  cairn: Server;
  /** The peer of this pass (Distribution 2.8 or 3), as `distribution` everywhere below. */
  distribution: Server;
  peer: Peer;
  sizes: Sizes;
  /** Measured before the scenarios; the targets use these. */
  ceilings: Ceilings;
  log: (msg: string) => void;
  /** The run's temp folder: scenarios that start servers of their own put them here. */
  base: string;
  /** Set with --cpu-prof: one-shot Cairn commands (gc) are profiled too. */
  cpuProfDir?: string;
}

export type Better = 'higher' | 'lower';

/** What Cairn and Distribution measured for one metric. */
interface Measured {
  group: string;
  metric: string;
  unit: string;
  better: Better;
  cairn: number | undefined;
  distribution: number | undefined;
  note?: string;
}

export interface Row extends Measured {
  /** Cairn / Distribution. */
  ratio: number | undefined;
  target: string;
  pass: boolean | undefined;
}

export interface RowSpec extends Measured {
  /** Ratio bound (≥ for higher-is-better, ≤ for lower-is-better); none for informational rows. */
  ratioTarget?: number;
  /** An extra condition on Cairn's own figure, with its text for the target column. */
  extra?: { text: string; pass: boolean };
  target?: string;
}

export function row(s: RowSpec): Row {
  const ratio = s.cairn !== undefined && s.distribution !== undefined && s.distribution !== 0 ? s.cairn / s.distribution : undefined;
  const texts: string[] = [];
  const checks: boolean[] = [];
  if (s.ratioTarget !== undefined) {
    texts.push(`${s.better === 'higher' ? '≥' : '≤'} ${fmtRatio(s.ratioTarget)}×`);
    checks.push(ratio !== undefined && (s.better === 'higher' ? ratio >= s.ratioTarget : ratio <= s.ratioTarget));
  }
  if (s.extra) {
    texts.push(s.extra.text);
    checks.push(s.extra.pass);
  }
  return {
    group: s.group,
    metric: s.metric,
    unit: s.unit,
    better: s.better,
    cairn: s.cairn,
    distribution: s.distribution,
    ratio,
    target: s.target ?? (texts.join(' and ') || '—'),
    pass: checks.length ? checks.every(Boolean) : undefined,
    note: s.note,
  };
}

function fmtRatio(x: number): string {
  return Math.abs(x - 1 / 3) < 1e-9 ? '⅓' : String(x);
}

export interface PerTarget {
  cairn?: number;
  distribution?: number;
}

/** What the servers used during a scenario: peak RSS (MiB) and CPU time (s). */
export interface Usage {
  rss: PerTarget;
  cpu: PerTarget;
}

/** Two parts of one scenario: the higher peak, the sum of CPU time. */
export function mergeUsage(a: Usage, b: Usage): Usage {
  const max = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
  const sum = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : x + y);
  return {
    rss: { cairn: max(a.rss.cairn, b.rss.cairn), distribution: max(a.rss.distribution, b.rss.distribution) },
    cpu: { cairn: sum(a.cpu.cairn, b.cpu.cairn), distribution: sum(a.cpu.distribution, b.cpu.distribution) },
  };
}

/**
 * Peak RSS (Cairn must stay under 150 MiB) and the servers' CPU time for one
 * scenario group. CPU seconds hold up under a loaded machine better than wall time:
 * they say what each server spent, not what the scheduler gave it.
 */
export function usageRows(group: string, u: Usage): Row[] {
  return [
    row({
      group,
      metric: 'peak RSS',
      unit: 'MiB',
      better: 'lower',
      cairn: u.rss.cairn,
      distribution: u.rss.distribution,
      extra: { text: 'Cairn ≤ 150 MiB', pass: u.rss.cairn !== undefined && u.rss.cairn <= 150 },
    }),
    row({ group, metric: 'CPU time (user + sys)', unit: 'CPU s', better: 'lower', cairn: u.cpu.cairn, distribution: u.cpu.distribution }),
  ];
}

/** Runs `fn` once per target, alternating which goes first by `round`. */
export async function alternate(ctx: Context, round: number, fn: (s: Server) => Promise<void>): Promise<void> {
  const order = round % 2 === 0 ? [ctx.cairn, ctx.distribution] : [ctx.distribution, ctx.cairn];
  for (const s of order) await fn(s);
}

/** Resets both servers' peak RSS, runs `fn`, returns the peaks and the CPU time each server used. */
export async function withUsage(ctx: Context, fn: () => Promise<unknown>): Promise<Usage> {
  ctx.cairn.resetPeak();
  ctx.distribution.resetPeak();
  const c0 = ctx.cairn.cpuSeconds();
  const d0 = ctx.distribution.cpuSeconds();
  await fn();
  const delta = (now?: number, then?: number) => (now === undefined || then === undefined ? undefined : now - then);
  return {
    rss: { cairn: ctx.cairn.peakRssMiB(), distribution: ctx.distribution.peakRssMiB() },
    cpu: { cairn: delta(ctx.cairn.cpuSeconds(), c0), distribution: delta(ctx.distribution.cpuSeconds(), d0) },
  };
}
