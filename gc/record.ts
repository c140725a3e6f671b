// What a real GC run leaves for others: its figures in <root>/gc-last.json (the
// daemon's /metrics reads them), and, when the root has notify endpoints (a daemon
// served it with --notify), one `delete` event per removed revision and history
// entry, queued like the daemon's own so the daemon delivers them. Queued after the
// sweep: a GC killed mid-sweep queues none for what it had removed.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

import type { Paths } from '../shared/paths.js';
import type { RegistryEvent } from '../events/envelope.js';
import { type GcFigures, writeGcFigures } from '../store/gclast.js';
import type { Report } from './report.js';
import { pathExistsSync } from '../shared/syncfs.js';

export async function recordGc(paths: Paths, r: Report): Promise<{ eventsQueued: number }> {
  const figures: GcFigures = {
    finishedAt: new Date().toISOString(),
    durationMs: r.durationMs,
    bytesFreed: r.bytesFreed,
    removed: {
      revisions: r.revisionsRemoved,
      blobs: r.blobsRemoved,
      attached_tags: r.tagsRemoved,
      history_entries: r.historyEntriesRemoved,
      referrer_links: r.referrerLinksRemoved,
      layer_links: r.layerLinksRemoved,
      signatures: r.signaturesRemoved,
      uploads: r.uploadsRemoved,
    },
    kept: r.kept,
    interrupted: r.interrupted,
  };
  await writeGcFigures(paths, figures);

  // The event modules load only when some daemon has served this root with --notify.
  if (!pathExistsSync(paths.eventEndpoints())) return { eventsQueued: 0 };
  const [{ EventQueue }, { makeEvent }] = await Promise.all([import('../events/queue.js'), import('../events/envelope.js')]);
  const queue = new EventQueue(paths);
  const endpoints = await queue.loadEndpoints();
  if (!endpoints.length) return { eventsQueued: 0 };
  const request = { id: randomUUID(), addr: '', host: hostname(), method: 'GC', useragent: 'cairn-gc' };
  const source = { addr: hostname(), instanceID: randomUUID() };
  const events: RegistryEvent[] = [];
  for (const item of r.removed) {
    if (!item.repository || !item.digest) continue;
    if (item.kind !== 'revision' && item.kind !== 'history-entry') continue;
    events.push(makeEvent({ action: 'delete', target: { repository: item.repository, digest: item.digest, ...(item.tag && { tag: item.tag }) } }, request, source, 'cairn-gc'));
  }
  return { eventsQueued: await queue.enqueue(endpoints, events) };
}
