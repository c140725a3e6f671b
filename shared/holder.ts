// Who holds a lock file, and whether it is certainly gone. A holder on another host
// cannot be checked from here, so it counts as alive.
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isCode } from './syncfs.js';

export interface Holder {
  host: string;
  pid: number;
}

/** This process, as a lock's holder. */
export function thisProcess(): Holder {
  return { host: hostname(), pid: process.pid };
}

export function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return isCode(err, 'EPERM');
  }
}

/**
 * A host's short mark in file names: eight hex digits of its name's hash (a host
 * name may hold any character, and it must not be mistaken for the pid after it).
 */
export function hostMark(host?: string): string {
  if (host === undefined) return (ownMark ??= hostMark(hostname())); // asked per gc item: once is enough
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}

let ownMark: string | undefined;

/**
 * A name for a temp file or folder that says whose it is: `<host mark>-<pid>-<uuid>`.
 * Several hosts may share a root; each cleans up only what its own dead processes left.
 */
export function tempName(): string {
  return `${hostMark()}-${process.pid}-${randomUUID()}`;
}

/**
 * Whose a temp name is: `here` when this host's (the older `<pid>-<uuid>` names were
 * all written by one host), and the pid; undefined for a name no process of ours makes.
 */
export function tempOwner(name: string): { here: boolean; pid: number } | undefined {
  const m = /^(?:([0-9a-f]{8})-)?(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(name);
  if (!m) return undefined;
  return { here: m[1] === undefined || m[1] === hostMark(), pid: Number(m[2]) };
}
