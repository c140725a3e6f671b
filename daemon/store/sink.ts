// Where blob bytes land: one Writable that hashes what it is given and writes it
// to a file in batches (writev at an explicit position), and that syncs the file
// before it reports 'finish', so the caller acknowledges only bytes on disk.
// While bytes keep coming it asks the kernel to flush what is already written
// (fdatasync in the background, one at a time), so the final sync of a large blob
// finds little left: flushing overlaps receiving instead of following it.
import type { Hash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { Writable } from 'node:stream';
// Raw descriptors, not a FileHandle (2-3× the CPU per call; see shared/fsx.ts).
import { fdatasyncFd, fsyncFd, openFd, writeFd, writevFd } from '../../shared/fsx.js';
import { uploadBytes } from '../memory.js';

/**
 * Bytes buffered before the source (the request) is paused; one upload holds about
 * twice this (a batch being written, the next one queueing). 3 alternating rounds on
 * a fresh daemon, 1 MiB / 512 KiB / 256 KiB: 16 concurrent 8 MiB uploads peaked at
 * 113-124 / 98-105 / 92-96 MiB RSS; a 512 MiB push ran at ~800 / ~750 / ~640 MiB/s.
 */
const HIGH_WATER = 512 << 10;
/**
 * New bytes after which a background flush starts. Small enough that a 16 MiB
 * PATCH is mostly on disk when its last byte arrives (chunked 512 MiB push, 9
 * alternating runs each: median 478 → 557 MiB/s from 32 MiB; monolithic unchanged).
 */
const FLUSH_EVERY = 4 << 20;

export class HashingFileSink extends Writable {
  readonly hash: Hash;
  /** Bytes written through this sink. */
  bytes = 0;
  private readonly file: string;
  private readonly flags: 'wx' | 'r+';
  private fd: number | undefined;
  private position: number;
  private sinceFlush = 0;
  private flushing: Promise<void> | undefined;
  private flushError: unknown;

  /** `flags` 'wx' creates a new file; 'r+' writes into an existing one from `start`. */
  constructor(file: string, flags: 'wx' | 'r+', start: number, hash: Hash) {
    super({ highWaterMark: HIGH_WATER });
    this.file = file;
    this.flags = flags;
    this.position = start;
    this.hash = hash;
  }

  override _construct(done: (err?: Error | null) => void): void {
    if (this.flags === 'r+') {
      // Opening a file that exists, without truncating it, asks nothing of the journal: inline.
      try {
        this.fd = openSync(this.file, 'r+');
        done();
      } catch (err) {
        done(err as Error);
      }
      return;
    }
    openFd(this.file, this.flags).then((fd) => {
      this.fd = fd;
      done();
    }, done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this.writeAll(buffers).then(() => done(), done);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let length = 0;
    for (const b of buffers) {
      this.hash.update(b);
      length += b.length;
    }
    uploadBytes.received(length); // frees the request's dead chunks every few MiB
    let { bytesWritten } = await writevFd(this.fd!, buffers, this.position);
    // libuv writes everything or fails; should a short write happen anyway, finish it.
    while (bytesWritten < length) {
      const rest = Buffer.concat(buffers).subarray(bytesWritten);
      bytesWritten += (await writeFd(this.fd!, rest, 0, rest.length, this.position + bytesWritten)).bytesWritten;
    }
    this.position += length;
    this.bytes += length;
    this.sinceFlush += length;
    if (this.sinceFlush >= FLUSH_EVERY && !this.flushing) {
      this.sinceFlush = 0;
      this.flushing = fdatasyncFd(this.fd!).then(
        () => void (this.flushing = undefined),
        (err: unknown) => void ((this.flushError = err), (this.flushing = undefined)),
      );
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    (async () => {
      await this.flushing;
      if (this.flushError) throw this.flushError;
      await fsyncFd(this.fd!); // a blob or chunk is acknowledged only once it is on disk
    })().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    (async () => {
      await this.flushing;
      if (fd !== undefined) closeSync(fd); // inline, as in shared/fsx.ts createFile
    })().then(
      () => done(err),
      (closeErr: Error) => done(err ?? closeErr),
    );
  }
}
