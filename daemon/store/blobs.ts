// Content-addressed blobs: written once through a temp file, hashed while the
// bytes flow, never edited. A blob is visible only once its bytes match its name.
import { createHash } from 'node:crypto';
import { openSync, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sameDigest } from '../../shared/digest.js';
import { RegistryError } from '../../shared/errors.js';
import { atomicWrite, commitFile, exists, fsyncFile, removeFile, statOrUndefined, tempPath, touch } from '../../shared/fsx.js';
import type { Paths } from '../../shared/paths.js';
import { absent } from '../../shared/syncfs.js';
import { type Algorithm, type Digest, digestString } from '../../shared/reference.js';
import { HashingFileSink } from './sink.js';

export class BlobStore {
  readonly paths: Paths;

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** Size of a stored blob, or undefined. Never opens the file. */
  async size(d: Digest): Promise<number | undefined> {
    return (await statOrUndefined(this.paths.blob(d)))?.size;
  }

  async has(d: Digest): Promise<boolean> {
    return exists(this.paths.blob(d));
  }

  /** A descriptor to read the blob through (the caller closes it), or undefined when it is gone. */
  open(d: Digest): number | undefined {
    try {
      return openSync(this.paths.blob(d), 'r'); // opening what exists asks nothing of the journal: inline
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
  }

  async readAll(d: Digest): Promise<Buffer> {
    return fs.readFile(this.paths.blob(d));
  }

  /** Writes bytes whose digest the caller computed, when a touch said the blob is not there. */
  async write(d: Digest, data: Uint8Array): Promise<void> {
    await atomicWrite(this.paths.tmpDir(), this.paths.blob(d), data);
  }

  /**
   * Streams `src` into a temp file while hashing it; if `expected` is given and the
   * bytes do not match, nothing is stored and DIGEST_INVALID is thrown.
   */
  async ingest(src: Readable, expected: Digest | undefined, signal?: AbortSignal): Promise<{ digest: Digest; size: number }> {
    const algorithm: Algorithm = expected?.algorithm ?? 'sha256';
    const tmp = tempPath(this.paths.tmpDir());
    const sink = new HashingFileSink(tmp, 'wx', 0, createHash(algorithm));
    try {
      await pipeline(src, sink, { signal }); // the sink hashes, writes and syncs
      const digest: Digest = { algorithm, hex: sink.hash.digest('hex') };
      if (expected && !sameDigest(expected, digest)) {
        throw new RegistryError('DIGEST_INVALID', `content has digest ${digestString(digest)}, not ${digestString(expected)}`);
      }
      await this.adopt(tmp, digest, { synced: true });
      return { digest, size: sink.bytes };
    } finally {
      await removeFile(tmp);
    }
  }

  /** Moves a complete file whose digest is known into place (fsyncing it first unless the caller did). */
  async adopt(file: string, d: Digest, opts: { synced?: boolean } = {}): Promise<void> {
    if (await this.touch(d)) return;
    if (!opts.synced) await fsyncFile(file);
    await commitFile(file, this.paths.blob(d));
  }

  /**
   * Marks a blob as just used, so a concurrent GC's grace period covers it; false
   * when the blob is not there. Callers that rely on the blob use this as their
   * existence check (see fsx.touch for why a separate has() would be unsafe).
   */
  async touch(d: Digest): Promise<boolean> {
    return touch(this.paths.blob(d));
  }
}
