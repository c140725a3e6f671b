// What one GC run did: what `cairn gc --json` prints, and what record.ts leaves for others.
import type { PlanItem } from './plan.js';

export interface Report {
  root: string;
  dryRun: boolean;
  markedAt: string;
  durationMs: number;
  /** Bytes of removed blobs, signatures and uploads (with --dry-run: that would be). */
  bytesFreed: number;
  revisionsRemoved: number;
  blobsRemoved: number;
  /** Tags cosign attaches to a manifest (`sha256-<hex>.sig`) that went with it. */
  tagsRemoved: number;
  historyEntriesRemoved: number;
  referrerLinksRemoved: number;
  layerLinksRemoved: number;
  signaturesRemoved: number;
  uploadsRemoved: number;
  kept: { revisions: number; blobs: number };
  /** What went (with --dry-run: what would go), in sweep order. */
  removed: PlanItem[];
  /** What the plan listed but the sweep left, because the daemon used it meanwhile. */
  spared: (PlanItem & { why: string })[];
  interrupted: boolean;
  warnings: string[];
}

/**
 * Writes `report` as `JSON.stringify(report, null, 2)` would, byte for byte, but its
 * item lists an item at a time: a run over a big tree removes hundreds of thousands
 * of things, and one string of them all would be most of the run's memory.
 */
export async function writeReportJson(report: Report, out: NodeJS.WritableStream): Promise<void> {
  let pending = '';
  const write = async (text: string) => {
    pending += text;
    if (pending.length < 1 << 20) return;
    const chunk = pending;
    pending = '';
    if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', () => ok()));
  };
  const entries = Object.entries(report);
  await write('{\n');
  for (const [i, [key, value]] of entries.entries()) {
    await write(`  ${JSON.stringify(key)}: `);
    if (Array.isArray(value) && value.length) {
      await write('[\n');
      for (const [j, item] of value.entries()) await write(`    ${JSON.stringify(item, null, 2).replace(/\n/g, '\n    ')}${j < value.length - 1 ? ',' : ''}\n`);
      await write('  ]');
    } else {
      await write(JSON.stringify(value, null, 2).replace(/\n/g, '\n  '));
    }
    await write(i < entries.length - 1 ? ',\n' : '\n');
  }
  await write('}\n');
  out.write(pending);
}
