// The durable event queue under the root: one file per (endpoint, event) in
// events/pending/<endpoint>/<id>.json, written atomically (temp + fsync + rename)
// before the request that caused it is answered. Ids sort in the order events were
// queued, so each endpoint's folder is its queue. Delivered events are removed;
// refused ones move to events/failed/<endpoint>/ with the reason. Daemon and
// `cairn gc` both queue here; the daemon delivers.
import { randomBytes } from 'node:crypto';
import { atomicWrite, listDir, mkdirp, removeFile } from '../shared/fsx.js';
import { type Paths, isEndpointName, isEventId } from '../shared/paths.js';
import type { Endpoint } from './config.js';
import type { RegistryEvent } from './envelope.js';
import { wants } from './filter.js';
import { readTextSyncOrUndefined } from '../shared/syncfs.js';

/** What queueing needs of an endpoint: no URL, no headers (so no secret is written under the root). */
export type EndpointFilter = Pick<Endpoint, 'name' | 'filters'>;

export interface QueuedEvent {
  id: string;
  event: RegistryEvent;
}

export interface FailedEvent extends QueuedEvent {
  failedAt: string;
  reason: string;
}

export interface EndpointStatus {
  attempts: number;
  lastError: string;
  lastAttemptAt: string;
  nextAttemptAt?: string;
}

let lastMs = 0;
let seq = 0;

/** A new queue id: time, a per-process sequence within the millisecond, and a random tail. */
export function nextEventId(): string {
  const now = Math.max(Date.now(), lastMs); // never backwards, even if the clock is
  seq = now === lastMs ? seq + 1 : 0;
  lastMs = now;
  if (seq > 999_999) {
    lastMs++;
    seq = 0;
  }
  return `${String(lastMs).padStart(13, '0')}-${String(seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
}

export class EventQueue {
  readonly paths: Paths;

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** Writes each event for each endpoint that wants it; resolves once every file is durable. */
  async enqueue(endpoints: EndpointFilter[], events: RegistryEvent[]): Promise<number> {
    const writes: { file: string; data: string }[] = [];
    for (const event of events) {
      const id = nextEventId();
      for (const e of endpoints) {
        if (wants(e as Endpoint, event)) writes.push({ file: this.paths.eventPending(e.name, id), data: JSON.stringify(event) });
      }
    }
    // Different files, so in parallel; ids already fix the order.
    await Promise.all(writes.map((w) => atomicWrite(this.paths.tmpDir(), w.file, w.data)));
    return writes.length;
  }

  /** Pending ids of an endpoint, oldest first. */
  async pendingIds(endpoint: string): Promise<string[]> {
    return ids(await listDir(this.paths.eventsPendingDir(endpoint)));
  }

  async failedIds(endpoint: string): Promise<string[]> {
    return ids(await listDir(this.paths.eventsFailedDir(endpoint)));
  }

  /** Endpoints that have a pending or failed folder (some may no longer be configured). */
  async endpointsOnDisk(): Promise<string[]> {
    const names = new Set<string>();
    for (const dir of [this.paths.eventsPendingDir(), this.paths.eventsFailedDir()]) {
      for (const e of await listDir(dir)) if (e.isDirectory() && isEndpointName(e.name)) names.add(e.name);
    }
    return [...names].sort();
  }

  /** A pending event, or undefined when it is gone (delivered meanwhile) or unreadable. */
  async read(endpoint: string, id: string): Promise<RegistryEvent | undefined> {
    const text = readTextSyncOrUndefined(this.paths.eventPending(endpoint, id));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as RegistryEvent;
    } catch {
      return undefined;
    }
  }

  async readFailed(endpoint: string, id: string): Promise<FailedEvent | undefined> {
    const text = readTextSyncOrUndefined(this.paths.eventFailed(endpoint, id));
    try {
      return text === undefined ? undefined : (JSON.parse(text) as FailedEvent);
    } catch {
      return undefined;
    }
  }

  /** Delivered: the files go. */
  async remove(endpoint: string, ids: string[]): Promise<void> {
    for (const id of ids) await removeFile(this.paths.eventPending(endpoint, id));
  }

  /** Refused for good: each moves to failed/ with the reason (written before the pending file goes). */
  async fail(endpoint: string, ids: string[], reason: string): Promise<void> {
    const failedAt = new Date().toISOString();
    for (const id of ids) {
      const event = await this.read(endpoint, id);
      const record = event ? { id, event, failedAt, reason } : { id, failedAt, reason: `${reason} (the queued file was unreadable)` };
      await atomicWrite(this.paths.tmpDir(), this.paths.eventFailed(endpoint, id), JSON.stringify(record));
      await removeFile(this.paths.eventPending(endpoint, id));
    }
  }

  /** Puts failed events back in the queue, in their original order (their ids are kept). */
  async retryFailed(endpoint: string): Promise<number> {
    let n = 0;
    for (const id of await this.failedIds(endpoint)) {
      const f = await this.readFailed(endpoint, id);
      if (f?.event) await atomicWrite(this.paths.tmpDir(), this.paths.eventPending(endpoint, id), JSON.stringify(f.event));
      await removeFile(this.paths.eventFailed(endpoint, id));
      n++;
    }
    return n;
  }

  async status(endpoint: string): Promise<EndpointStatus | undefined> {
    const text = readTextSyncOrUndefined(this.paths.eventStatus(endpoint));
    try {
      return text === undefined ? undefined : (JSON.parse(text) as EndpointStatus);
    } catch {
      return undefined;
    }
  }

  async setStatus(endpoint: string, s: EndpointStatus | undefined): Promise<void> {
    if (s) await atomicWrite(this.paths.tmpDir(), this.paths.eventStatus(endpoint), JSON.stringify(s));
    else await removeFile(this.paths.eventStatus(endpoint));
  }

  /** Writes the endpoints' names and filters, so `cairn gc` queues for the same endpoints. */
  async saveEndpoints(endpoints: EndpointFilter[]): Promise<void> {
    await mkdirp(this.paths.eventsDir());
    const data = endpoints.map(({ name, filters }) => ({ name, filters }));
    await atomicWrite(this.paths.tmpDir(), this.paths.eventEndpoints(), JSON.stringify({ endpoints: data }, null, 2));
  }

  /** The endpoints a daemon last served with, or none when the root has no notify config. */
  async loadEndpoints(): Promise<EndpointFilter[]> {
    const text = readTextSyncOrUndefined(this.paths.eventEndpoints());
    if (text === undefined) return [];
    const parsed = JSON.parse(text) as { endpoints?: EndpointFilter[] };
    return (parsed.endpoints ?? []).filter((e) => typeof e.name === 'string' && isEndpointName(e.name)).map((e) => ({ name: e.name, filters: e.filters ?? {} }));
  }
}

function ids(entries: import('node:fs').Dirent[]): string[] {
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.json') && isEventId(e.name.slice(0, -5)))
    .map((e) => e.name.slice(0, -5))
    .sort();
}
