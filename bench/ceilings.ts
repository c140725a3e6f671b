// The machine's own limits, measured in the same run as the registries: Node's
// sha256, sequential write + fsync on the filesystem that holds the roots (into a
// file just deleted, and into new files through the page cache and with O_DIRECT,
// as Distribution's and Cairn's pushes write), and
// loopback HTTP to a bare Node server (one that discards a body, one that serves
// a file, one that answers a walk of tags/list pages). A registry cannot beat
// these; the targets are fractions of them.
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alignedBuffer } from '../store/stages.js';
import { Client, MiB, expectStatus, timed, walkLinks } from './http.js';

export interface Ceilings {
  sha256MiBs: number;
  /** Rewriting a file just deleted: the filesystem reuses the freed blocks. */
  writeFsyncMiBs: number;
  /**
   * Writing new files through the page cache while the earlier ones stay, as
   * Distribution's push does (without the sync). On the bench VM this is 4-6× slower
   * than the rewrite; page frames not used lately seem to be what costs there.
   */
  writeFsyncNewMiBs: number;
  /**
   * New files written O_DIRECT in 4 MiB writes, as Cairn's upload sink writes (in 512
   * KiB stages): on the bench VM 5-7× the page-cache figure. Undefined where the
   * filesystem refuses O_DIRECT.
   */
  writeDirectNewMiBs: number | undefined;
  loopbackDiscardMiBs: number;
  loopbackFileMiBs: number;
  /**
   * The same GET with the client hashing what it receives, as the pull scenario's
   * client does: on 2 shared cores the client, not the server, then sets the pace.
   */
  loopbackFileHashedMiBs: number;
  /**
   * A walk of `walkPages` small JSON pages, each GET sent once the last answered (the
   * Link names the next): what the tags/list walk costs in round trips alone.
   */
  walkFloorMs: number;
  walkPages: number;
}

/**
 * Untimed walks before the timed ones, here and for each registry's tags/list row
 * (bench/tags.ts), so the floor and the row are measured alike. The processes are
 * fresh, and their HTTP code is compiled only after a thousand requests or two: a
 * walk of 50 pages took 30-40 ms at first, 5 ms after 40 walks.
 */
export const WALK_WARMUPS = 40;
/** Timed walks of the floor; the best counts. */
export const WALK_ROUNDS = 7;

const BARE = fileURLToPath(new URL('./bare.js', import.meta.url));

/** Best of `rounds` for each: a ceiling is what the machine can do, not what it did once under load. */
export async function measureCeilings(dir: string, bytes: number, rounds: number, walkPages: number): Promise<Ceilings> {
  const data = randomFillSync(Buffer.allocUnsafe(bytes));
  const best = async (fn: () => Promise<number>) => {
    let top = 0;
    for (let i = 0; i < rounds; i++) top = Math.max(top, await fn());
    return top;
  };
  const sha256MiBs = await best(async () => {
    const { seconds } = await timed(async () => {
      const h = createHash('sha256');
      for (let at = 0; at < data.length; at += MiB) h.update(data.subarray(at, at + MiB));
      h.digest();
    });
    return bytes / MiB / seconds;
  });
  const file = join(dir, 'ceiling-write');
  const writeSynced = async (path: string) => {
    const { seconds } = await timed(async () => {
      const fh = await open(path, 'wx');
      try {
        for (let at = 0; at < data.length; at += 4 * MiB) await fh.write(data, at, Math.min(4 * MiB, data.length - at));
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    return bytes / MiB / seconds;
  };
  let kept = 0;
  const writeFsyncNewMiBs = await best(() => writeSynced(`${file}-new-${kept++}`));
  const writeDirectNewMiBs = await writeDirect(data, () => `${file}-new-${kept++}`, best);
  for (let i = 0; i < kept; i++) await rm(`${file}-new-${i}`, { force: true });
  const writeFsyncMiBs = await best(async () => {
    await rm(file, { force: true });
    return writeSynced(file);
  });
  await writeFile(file, data);
  const { port, stop } = await startBare(file);
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const loopbackDiscardMiBs = await best(async () => {
      const { seconds } = await timed(async () => expectStatus(await client.request('PUT', '/discard', { body: data }), 'bare PUT', 201));
      return bytes / MiB / seconds;
    });
    const getFile = (hashed: boolean) =>
      best(async () => {
        const h = createHash('sha256');
        const { seconds, value } = await timed(async () => client.request('GET', '/file', { onData: hashed ? (c) => h.update(c) : () => undefined }));
        if (value.bytes !== bytes) throw new Error(`bare GET returned ${value.bytes} bytes, not ${bytes}`);
        if (hashed) h.digest();
        return bytes / MiB / seconds;
      });
    const loopbackFileMiBs = await getFile(false);
    const loopbackFileHashedMiBs = await getFile(true);
    const walk = async () => {
      const { seconds, value } = await timed(() => walkLinks(client, `/walk?pages=${walkPages}`));
      if (value.pages !== walkPages) throw new Error(`bare walk took ${value.pages} pages, not ${walkPages}`);
      return seconds * 1000;
    };
    for (let i = 0; i < WALK_WARMUPS; i++) await walk();
    let walkFloorMs = Infinity;
    for (let i = 0; i < WALK_ROUNDS; i++) walkFloorMs = Math.min(walkFloorMs, await walk());
    return { sha256MiBs, writeFsyncMiBs, writeFsyncNewMiBs, writeDirectNewMiBs, loopbackDiscardMiBs, loopbackFileMiBs, loopbackFileHashedMiBs, walkFloorMs, walkPages };
  } finally {
    client.close();
    await stop();
    await rm(file, { force: true });
  }
}

async function startBare(file: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BARE, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`bare server exited (${code})`)));
    child.stdout!.once('data', (d: Buffer) => ok(Number(d.toString().trim())));
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `data` into new files with O_DIRECT, from a page-aligned buffer as the upload sink's; undefined if refused. */
async function writeDirect(data: Buffer, path: () => string, best: (fn: () => Promise<number>) => Promise<number>): Promise<number | undefined> {
  const STEP = 4 * MiB;
  const aligned = alignedBuffer(STEP);
  try {
    return await best(async () => {
      const { seconds } = await timed(async () => {
        const fh = await open(path(), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT);
        try {
          for (let at = 0; at < data.length; at += STEP) {
            const n = data.copy(aligned, 0, at, at + STEP);
            await fh.write(aligned, 0, n, at); // the blob sizes here are whole MiB: every write is whole blocks
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      return data.length / MiB / seconds;
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw err;
  }
}
