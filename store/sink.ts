// Where blob bytes land: one Writable that hashes what it is given and writes it
// to a file, and that syncs the file before it reports 'finish', so the caller
// acknowledges only bytes on disk.
//
// The bytes of a big upload bypass the page cache (O_DIRECT): the sink gathers them
// in page-aligned stages (stages.ts) and writes each full one straight to the
// device while the next fills. On this project's VMs new data through the page cache
// costs most of a push's CPU, and a blob is written once and read later if ever:
// caching it as it is written would only push out what the page cache holds for
// manifests and lists. The price: a blob's first pull right after its push reads the
// disk, which daemon/sendfile.ts does around the page cache too. (Measurements:
// bench/TRIED.md, "blob push".)
// Through the page cache go, as they come: an upload's first stage's worth of bytes
// (so the many small uploads never take a stage), everything where no stage is free
// or O_DIRECT is refused (tmpfs before Linux 6.6), and around the stages the bytes up
// to the first block boundary and after the last. While such bytes keep coming, the
// sink flushes what is already written (fdatasync in the background, one at a
// time), so the final sync finds little left.
import type { Hash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { Writable } from 'node:stream';
// Raw descriptors, not a FileHandle (2-3× the CPU per call; see shared/fsx.ts).
import { fdatasyncFd, fsyncFd, openFd, writeFd, writevFd } from '../shared/fsx.js';
import { isCode } from '../shared/syncfs.js';
import { BLOCK, STAGE, giveBackStage, openDirect, takeStage } from './stages.js';

/** Told of every chunk a sink takes in; the daemon frees request buffers by it (daemon/memory.ts). */
let received: (bytes: number) => void = () => undefined;
export function onUploadBytes(hook: (bytes: number) => void): void {
  received = hook;
}

/** Bytes buffered before the source (the request) is paused, besides the stage: memory per upload against push speed. */
const HIGH_WATER = 512 << 10;
/** New bytes through the page cache after which a background flush starts: small enough that a 16 MiB PATCH is mostly on disk when its last byte arrives. */
const FLUSH_EVERY = 4 << 20;

export class HashingFileSink extends Writable {
  readonly hash: Hash;
  /** Bytes written through this sink. */
  bytes = 0;
  /** Of those, the bytes written O_DIRECT. */
  directBytes = 0;
  private readonly file: string;
  private readonly flags: 'wx' | 'r+';
  private fd: number | undefined;
  /** The same file opened O_DIRECT, at the first full stage; undefined before, and where refused. */
  private direct: number | undefined;
  private triedDirect = false;
  /** File offset of the current stage's first byte (before the first stage: of the next byte). */
  private position: number;
  /** Bytes still to write through the page cache before `position` is on a block boundary. */
  private headLeft = 0;
  /** None yet, one, or two when the pool has them: the next fills while the last full one is written. */
  private stages: Buffer[] = [];
  /** The pool had no stage: this upload goes through the page cache to its end. */
  private noStage = false;
  private current = 0;
  private staged = 0;
  /** The write of the stage filled last, awaited when the next one fills, or at the end. */
  private pending: Promise<void> | undefined;
  /** The batch or final write in flight: the descriptors close and the stages go back after it. */
  private writing: Promise<unknown> | undefined;
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

  /** Resolves once the file is closed: after a failed pipeline, no write of this sink is still in flight. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((ok) => this.once('close', () => ok()));
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
    const batch = this.take(chunks.map((c) => c.chunk));
    this.writing = batch.catch(() => undefined);
    batch.then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    const last = (async () => {
      await this.settle();
      if (this.staged) {
        // Whole blocks go O_DIRECT if the upload already went so; the tail through the page cache.
        const stage = this.stages[this.current]!;
        const aligned = this.direct === undefined ? 0 : this.staged - (this.staged % BLOCK);
        if (aligned) await this.writeOut(stage.subarray(0, aligned), this.position, true);
        if (aligned < this.staged) await this.writeOut(stage.subarray(aligned, this.staged), this.position + aligned, false);
        this.position += this.staged;
        this.staged = 0;
      }
      await this.flushing;
      if (this.flushError) throw this.flushError;
      await fsyncFd(this.fd!); // a blob or chunk is acknowledged only once it is on disk
    })();
    this.writing = last.catch(() => undefined);
    last.then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    (async () => {
      await this.writing;
      const written = await (this.pending ?? Promise.resolve()).then(
        () => true,
        () => false,
      );
      // Cut short: what was gathered goes to the file too, which then holds every byte that arrived.
      if (err && written && this.staged && this.fd !== undefined) {
        await this.writeOut(this.stages[this.current]!.subarray(0, this.staged), this.position, false).catch(() => undefined);
      }
      await this.flushing;
      for (const fd of [this.fd, this.direct]) if (fd !== undefined) closeSync(fd); // inline, as in shared/fsx.ts createFile
      this.fd = this.direct = undefined;
      this.stages.forEach(giveBackStage);
      this.stages = [];
    })().then(
      () => done(err),
      (closeErr: Error) => done(err ?? closeErr),
    );
  }

  /**
   * Hashes a batch, then writes it as it is (see the top) or, once the upload has a
   * stage, writes the bytes up to the next block boundary and gathers the rest.
   */
  private async take(buffers: Buffer[]): Promise<void> {
    let length = 0;
    for (const b of buffers) {
      this.hash.update(b);
      length += b.length;
    }
    received(length);
    if (!this.stages.length && !this.noStage && this.bytes >= STAGE) {
      const stage = takeStage();
      if (stage) this.stages.push(stage);
      else this.noStage = true;
      this.headLeft = (BLOCK - (this.position % BLOCK)) % BLOCK;
    }
    if (!this.stages.length) {
      await this.writeCached(buffers, this.position);
      this.position += length;
      this.bytes += length;
      return;
    }
    for (const b of buffers) {
      let at = 0;
      if (this.headLeft > 0) {
        at = Math.min(this.headLeft, b.length);
        await this.writeCached([b.subarray(0, at)], this.position);
        this.position += at;
        this.headLeft -= at;
      }
      while (at < b.length) {
        if (this.destroyed) return; // the request went away
        const stage = this.stages[this.current]!;
        const n = b.copy(stage, this.staged, at);
        this.staged += n;
        at += n;
        if (this.staged === STAGE) await this.writeStage(stage);
      }
    }
    this.bytes += length;
  }

  /**
   * Starts the write of a full stage and moves on to the other one, once that one's
   * own write has ended. With one stage, waits for the write: the stage fills next.
   */
  private async writeStage(stage: Buffer): Promise<void> {
    const at = this.position;
    this.position += STAGE;
    this.staged = 0;
    await this.settle();
    if (this.stages.length === 1) {
      const second = takeStage();
      if (second) this.stages.push(second);
    }
    const write = this.writeOut(stage, at, true);
    write.catch(() => undefined); // handled: settle() rethrows it
    this.pending = write;
    if (this.stages.length === 1) await this.settle();
    else this.current ^= 1;
  }

  /** Waits for the pending stage write; throws what it failed with. */
  private async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    await pending;
  }

  /**
   * Writes `data` at `position`: O_DIRECT when `direct` is asked and available, else
   * (and should the kernel refuse it there after all) through the page cache. At most
   * one write of a sink is in flight.
   */
  private async writeOut(data: Buffer, position: number, direct: boolean): Promise<void> {
    const fd = direct ? this.directFd() : undefined;
    if (fd !== undefined) {
      try {
        await writeFully(fd, data, position);
        this.directBytes += data.length;
        return;
      } catch (err) {
        if (!isCode(err, 'EINVAL')) throw err;
        closeSync(fd);
        this.direct = undefined; // and stays so: the whole write is made again below
      }
    }
    await this.writeCached([data], position);
  }

  /** Writes `buffers` at `position` through the page cache, flushing in the background every few MiB. */
  private async writeCached(buffers: Buffer[], position: number): Promise<void> {
    let length = 0;
    for (const b of buffers) length += b.length;
    let { bytesWritten } = await writevFd(this.fd!, buffers, position);
    // libuv writes everything or fails; should a short write happen anyway, finish it.
    if (bytesWritten < length) await writeFully(this.fd!, Buffer.concat(buffers).subarray(bytesWritten), position + bytesWritten);
    this.sinceFlush += length;
    if (this.sinceFlush >= FLUSH_EVERY && !this.flushing) {
      this.sinceFlush = 0;
      this.flushing = fdatasyncFd(this.fd!).then(
        () => void (this.flushing = undefined),
        (err: unknown) => void ((this.flushError = err), (this.flushing = undefined)),
      );
    }
  }

  /** The O_DIRECT descriptor, opened once (inline: the file exists) for an aligned stage. */
  private directFd(): number | undefined {
    if (!this.triedDirect) {
      this.triedDirect = true;
      this.direct = openDirect(this.file, 'write');
    }
    return this.direct;
  }
}

/** libuv writes everything or fails; should a short write happen anyway, the rest follows. */
async function writeFully(fd: number, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await writeFd(fd, data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw new Error(`wrote nothing at ${position + done}`);
    done += bytesWritten;
  }
}
