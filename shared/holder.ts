// Who holds a lock file, and whether it is certainly gone. A holder on another host
// cannot be checked from here, so it counts as alive.
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
