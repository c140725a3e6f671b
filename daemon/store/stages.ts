// Page-aligned buffers for the upload sink's O_DIRECT writes, which need the memory,
// the file offset and the length aligned to the device's blocks. A Node Buffer comes
// from malloc, aligned to 16 bytes; a WebAssembly memory's buffer starts on a page.
// The buffers are carved from a few such memories and reused. A memory cannot be given
// back in part, so the pool is capped: an upload that finds none free writes through
// the page cache instead, as it would on a filesystem without O_DIRECT.

/** One stage: what the sink gathers before one O_DIRECT write. */
export const STAGE = 512 << 10;
/** Stages per WebAssembly memory: each reserves address space of its own, so not one each. */
const PER_MEMORY = 8;
/**
 * At most this many stages, ever: 4 MiB, resident once touched. A big upload takes
 * two, so four at once go O_DIRECT with both (more with one). With 16 (8 MiB), the
 * bench's daemon peaked at 145-148 MiB RSS after 16 concurrent uploads, against a
 * 150 MiB target.
 */
const MAX_STAGES = 8;
const WASM_PAGE = 64 << 10;

const free: Buffer[] = [];
let made = 0;
let inUse = 0;

/** A free stage, or undefined when all are in use (or the engine refused the memory). */
export function takeStage(): Buffer | undefined {
  if (!free.length && made < MAX_STAGES) {
    try {
      const memory = new WebAssembly.Memory({ initial: (STAGE * PER_MEMORY) / WASM_PAGE });
      const all = Buffer.from(memory.buffer);
      for (let i = 0; i < PER_MEMORY; i++) free.push(all.subarray(i * STAGE, (i + 1) * STAGE));
      made += PER_MEMORY;
    } catch {
      made = MAX_STAGES; // out of address space for memories: stop asking
    }
  }
  const stage = free.pop();
  if (stage) inUse++;
  return stage;
}

export function giveBackStage(stage: Buffer): void {
  free.push(stage);
  inUse--;
}

/** Stages taken and not given back (for tests). */
export function stagesInUse(): number {
  return inUse;
}
