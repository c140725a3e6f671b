// Printing: the header (when, where, load), the machine's ceilings, then one line
// per row with both figures, the ratio Cairn/Distribution, which way is better,
// the target and pass/fail; notes underneath.
import { type Ceilings, WALK_ROUNDS, WALK_WARMUPS } from './ceilings.js';
import type { Row } from './scenario.js';

export interface Meta {
  date: string;
  command: string;
  machine: string;
  /** The filesystem under the temp roots, and the fsync rule Cairn's auto mode takes there (shared/durability.ts). */
  filesystem: string;
  node: string;
  distribution: string;
  loadavgStart: number[];
  loadavgEnd: number[];
  quick: boolean;
  seconds: number;
}

export function fmt(x: number | undefined, unit?: string): string {
  if (x === undefined || Number.isNaN(x)) return '—';
  if (unit === 'ms' && x < 10) return x.toFixed(2);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

const verdict = (p: boolean | undefined) => (p === undefined ? '' : p ? 'pass' : 'MISS');

export function renderTable(meta: Meta, ceilings: Ceilings, end: Ceilings, rows: Row[]): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `Cairn vs CNCF Distribution — ${meta.date}${meta.quick ? ' (--quick: shrunk sizes, smoke run only)' : ''}`,
    `machine: ${meta.machine}; node ${meta.node}; ${meta.distribution}`,
    `filesystem: ${meta.filesystem}`,
    `load average (1/5/15 min): ${load(meta.loadavgStart)} at start, ${load(meta.loadavgEnd)} at end; run took ${meta.seconds.toFixed(0)} s`,
    `command: ${meta.command}`,
    '',
    'Ceilings (this machine, this run; best of 2, before the scenarios / after them; targets use the first):',
    `  Node sha256                      ${fmt(ceilings.sha256MiBs)} / ${fmt(end.sha256MiBs)} MiB/s`,
    `  sequential write + fsync         ${fmt(ceilings.writeFsyncMiBs)} / ${fmt(end.writeFsyncMiBs)} MiB/s  (rewriting a file just deleted)`,
    `  write + fsync, new files         ${fmt(ceilings.writeFsyncNewMiBs)} / ${fmt(end.writeFsyncNewMiBs)} MiB/s  (through the page cache: as Distribution writes, then synced)`,
    `  … with O_DIRECT                  ${fmt(ceilings.writeDirectNewMiBs)} / ${fmt(end.writeDirectNewMiBs)} MiB/s  (as Cairn's push writes)`,
    `  loopback HTTP, discard a body    ${fmt(ceilings.loopbackDiscardMiBs)} / ${fmt(end.loopbackDiscardMiBs)} MiB/s`,
    `  loopback HTTP, serve a file      ${fmt(ceilings.loopbackFileMiBs)} / ${fmt(end.loopbackFileMiBs)} MiB/s`,
    `  … and the client hashes it       ${fmt(ceilings.loopbackFileHashedMiBs)} / ${fmt(end.loopbackFileHashedMiBs)} MiB/s  (what a pull does)`,
    `  ${`loopback HTTP, ${ceilings.walkPages} pages in turn`.padEnd(33)}${fmt(ceilings.walkFloorMs, 'ms')} / ${fmt(end.walkFloorMs, 'ms')} ms  (a tags/list walk's round trips; best of ${WALK_ROUNDS} after ${WALK_WARMUPS} untimed)`,
    '',
  ];
  const header = ['scenario', 'metric', 'unit', 'better', 'Cairn', 'Distribution', 'Cairn/Dist', 'target', 'result'];
  const body = rows.map((r) => [r.group, r.metric, r.unit, r.better, fmt(r.cairn, r.unit), fmt(r.distribution, r.unit), r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`, r.target, verdict(r.pass)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([4, 5, 6]);
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  lines.push(line(header), `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...body.map(line), '');
  const noted = rows.filter((r) => r.note);
  if (noted.length) {
    lines.push('Notes:');
    for (const r of noted) lines.push(`- ${r.group} / ${r.metric}: ${r.note}`);
    lines.push('');
  }
  const judged = rows.filter((r) => r.pass !== undefined);
  lines.push(`${judged.filter((r) => r.pass).length} of ${judged.length} targets met; misses: ${judged.filter((r) => !r.pass).map((r) => `${r.group} / ${r.metric}`).join('; ') || 'none'}`);
  return lines.join('\n');
}
