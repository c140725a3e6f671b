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
