// A blob arriving from elsewhere (an upstream registry) that clients read while it
// arrives. Its bytes land in a temp file and are hashed as they come; readers follow
// the file up to what has been written; the blob enters the store only once its
// digest and size match. Readers are always held one byte short of what is written
// until then, so a client of a fill that fails never receives a whole body: its
// transfer is cut. The fill belongs to no reader: one that goes away stops reading,
// never the fill. A crash leaves only the temp file, which root preparation removes.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { sameDigest } from '../shared/digest.js';
import { mkdirp, removeFile, tempPath } from '../shared/fsx.js';
import { type Digest, digestString } from '../shared/reference.js';
import type { BlobStore } from './blobs.js';

export class FillError extends Error {}

/** How much a reader asks of the file at once. */
const READ_CHUNK = 1 << 20;

export class BlobFill {
  readonly digest: Digest;
  /** Bytes written (and hashed) so far. */
  written = 0;
  /** Resolves when the blob is stored; rejects with why it was not. */
  readonly done: Promise<void>;
  state: 'filling' | 'stored' | 'failed' = 'filling';
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly file: fs.FileHandle;
  private readonly tmp: string;
  private users = 1; // the fill itself, until it ends
  private settle!: { ok: () => void; fail: (err: Error) => void };

  /** A fill of `digest`, its temp file made; `size` is what the blob must measure, when known before its bytes. */
  static async open(blobs: BlobStore, digest: Digest, size: number | undefined): Promise<BlobFill> {
    await mkdirp(blobs.paths.tmpDir());
    const tmp = tempPath(blobs.paths.tmpDir());
    return new BlobFill(blobs, digest, size, tmp, await fs.open(tmp, 'wx+'));
  }

  private constructor(
    private readonly blobs: BlobStore,
    digest: Digest,
    readonly size: number | undefined,
    tmp: string,
    file: fs.FileHandle,
  ) {
    this.digest = digest;
    this.tmp = tmp;
    this.file = file;
    this.done = new Promise((ok, fail) => (this.settle = { ok, fail }));
    this.done.catch(() => undefined); // a fill nobody waits on must not crash the process
  }

  /**
   * Writes `src` to the temp file, then stores the blob if it is `digest` (and `size`),
   * running `link` before the blob's folder is synced (BlobStore.adopt).
   */
  async run(src: AsyncIterable<Uint8Array>, link: () => Promise<unknown>): Promise<void> {
    const hash = createHash(this.digest.algorithm);
    try {
      for await (const chunk of src) {
        if (this.size !== undefined && this.written + chunk.length > this.size) throw new FillError(`more than the ${this.size} bytes announced`);
        await this.file.write(chunk, 0, chunk.length, this.written);
        hash.update(chunk);
        this.written += chunk.length;
        this.wake();
      }
      if (this.size !== undefined && this.written !== this.size) throw new FillError(`${this.written} bytes, ${this.size} announced`);
      const got: Digest = { algorithm: this.digest.algorithm, hex: hash.digest('hex') };
      if (!sameDigest(got, this.digest)) throw new FillError(`the bytes hash to ${digestString(got)}`);
      await this.blobs.adopt(this.tmp, this.digest, { link });
      this.state = 'stored';
      this.settle.ok();
    } catch (err) {
      this.state = 'failed';
      this.failure = err as Error;
      await removeFile(this.tmp).catch(() => undefined);
      this.settle.fail(this.failure);
    } finally {
      this.wake();
      await this.release();
    }
  }

  /**
   * The blob's bytes from `start`, as they arrive. Ends once the blob is stored and
   * read to its end; throws (cutting the client's transfer) if the fill fails.
   */
  async *read(start = 0): AsyncGenerator<Buffer> {
    if (this.state === 'failed') throw this.failure!;
    this.users++;
    try {
      let at = start;
      for (;;) {
        const state = this.state as BlobFill['state']; // changes while this waits
        if (state === 'failed') throw this.failure!;
        const stored = state === 'stored';
        const readable = stored ? this.written : this.written - 1; // the last byte waits for the digest
        if (at < readable) {
          const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, readable - at));
          const { bytesRead } = await this.file.read(buf, 0, buf.length, at);
          at += bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        } else if (stored) {
          return;
        } else {
          await new Promise<void>((ok) => this.waiters.push(ok));
        }
      }
    } finally {
      await this.release();
    }
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const ok of waiting) ok();
  }

  /** The temp file stays open while the fill or any reader uses it (a renamed file reads on). */
  private async release(): Promise<void> {
    if (--this.users === 0) await this.file.close().catch(() => undefined);
  }
}
