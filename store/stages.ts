// Page-aligned buffers for O_DIRECT: the upload sink's writes, and the reads that
// serve a blob not in the page cache (daemon/sendfile.ts). Both need the memory, the
// file offset and the length aligned to the device's blocks. A Node Buffer comes
// from malloc, aligned to 16 bytes; a WebAssembly memory's buffer starts on a page.
// The buffers are carved from one such memory and reused. A memory cannot be given
// back in part, so the pool is capped: an upload or a pull that finds none free goes
// through the page cache instead, as it would on a filesystem without O_DIRECT.
import { constants, openSync } from 'node:fs';

/** O_DIRECT offsets and lengths are multiples of this: a page covers 512- and 4096-byte sectors. */
export const BLOCK = 4096;

/** One stage: what the sink gathers before one O_DIRECT write. */
export const STAGE = 512 << 10;
/**
 * At most this many stages, ever: 4 MiB, resident once touched. A big upload takes
 * two, so four at once go O_DIRECT with both (more with one); twice as many put the
 * daemon's peak memory at its 150 MiB bound under 16 concurrent uploads.
 */
const MAX_STAGES = 8;
const WASM_PAGE = 64 << 10;

/** A zeroed, page-aligned buffer of `bytes` (a multiple of 64 KiB): a WebAssembly memory's. */
export function alignedBuffer(bytes: number): Buffer {
  return Buffer.from(new WebAssembly.Memory({ initial: bytes / WASM_PAGE }).buffer);
}

/** The stages, carved from one memory at the first big upload; none if the engine refused it. */
let free: Buffer[] | undefined;
let inUse = 0;

/** A free stage, or undefined when all are in use (or there are none). */
export function takeStage(): Buffer | undefined {
  if (!free) {
    try {
      const all = alignedBuffer(STAGE * MAX_STAGES);
      free = Array.from({ length: MAX_STAGES }, (_, i) => all.subarray(i * STAGE, (i + 1) * STAGE));
    } catch {
      free = []; // out of address space for memories: every upload goes through the page cache
    }
  }
  const stage = free.pop();
  if (stage) inUse++;
  return stage;
}

export function giveBackStage(stage: Buffer): void {
  free!.push(stage);
  inUse--;
}

/** Stages taken and not given back (for tests). */
export function stagesInUse(): number {
  return inUse;
}

/**
 * `file` opened O_DIRECT for reading or writing (inline: it exists); undefined where
 * that is refused (EINVAL where the filesystem has no O_DIRECT, as tmpfs before Linux
 * 6.6): the caller goes on through the page cache, which meets any other error too.
 */
export function openDirect(file: string, access: 'read' | 'write'): number | undefined {
  try {
    return openSync(file, (access === 'read' ? constants.O_RDONLY : constants.O_WRONLY) | constants.O_DIRECT);
  } catch {
    return undefined;
  }
}

/** The file open as `fd`, opened again O_DIRECT for reading: the same inode, whatever was renamed since. */
export function reopenDirect(fd: number): number | undefined {
  return openDirect(`/proc/self/fd/${fd}`, 'read');
}
