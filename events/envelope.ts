// Distribution's notification format, so receivers written for it work unchanged:
// POST a body of type application/vnd.docker.distribution.events.v1+json holding
// {"events":[…]}, each event with id, timestamp, action, target, request, actor, source.
import { randomUUID } from 'node:crypto';
import type { Action } from './config.js';

export const ENVELOPE_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

export interface EventTarget {
  mediaType?: string;
  size?: number;
  /** Distribution sends both; `length` is the older name. */
  length?: number;
  digest?: string;
  repository: string;
  /** Canonical URL of the manifest or blob, by digest. */
  url?: string;
  tag?: string;
  /** A mount's source repository, when the client named one. */
  fromRepository?: string;
}

export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: Action;
  target: EventTarget;
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name: string };
  source: { addr: string; instanceID: string };
}

/** What a handler knows; the rest (id, time, request, source) is filled in once, in the middleware. */
export interface EventNote {
  action: Action;
  target: EventTarget;
}

export function makeEvent(
  note: EventNote,
  request: RegistryEvent['request'],
  source: RegistryEvent['source'],
  actor = '',
): RegistryEvent {
  const target = { ...note.target };
  if (target.size !== undefined) target.length = target.size;
  return { id: randomUUID(), timestamp: new Date().toISOString(), action: note.action, target, request, actor: { name: actor }, source };
}

export function envelope(events: RegistryEvent[]): string {
  return JSON.stringify({ events });
}
