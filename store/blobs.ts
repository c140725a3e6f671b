// Content-addressed blobs: written once through a temp file, hashed while the
// bytes flow, never edited. A blob is visible only once its bytes match its name.
import { createHash } from 'node:crypto';
import { openSync, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sameDigest } from '../shared/digest.js';
import { RegistryError } from '../shared/errors.js';
import { atomicWrite, fsyncDir, fsyncFile, removeFile, renameMakingParent, tempPath, touch } from '../shared/fsx.js';
import type { Paths } from '../shared/paths.js';
import { absent, retryStale, retryStaleAsync, statSyncOrUndefined } from '../shared/syncfs.js';
import { type Algorithm, type Digest, digestString } from '../shared/reference.js';
import { Lru } from './cache.js';
import { HashingFileSink } from './sink.js';

/** Blobs remembered as written around the page cache. */
const WRITTEN_AROUND = 10_000;

export class BlobStore {
  readonly paths: Paths;
  /**
   * Blobs this process wrote mostly O_DIRECT (store/sink.ts), by digest: their pulls
   * read around the page cache from the first byte, where a read through it would
   * also fill it ahead (the kernel's read-ahead) with what is then read again.
   */
  private readonly around = new Lru<true>(WRITTEN_AROUND);

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** Size of a stored blob, or undefined. Never opens the file. */
  async size(d: Digest): Promise<number | undefined> {
    return statSyncOrUndefined(this.paths.blob(d))?.size;
  }

  /** Whether this process wrote `d` around the page cache (a hint: the file may be cached since). */
  writtenAround(d: Digest): boolean {
    return this.around.get(digestString(d)) !== undefined;
  }

  /** Notes that `d`'s bytes went to disk around the page cache. */
  wroteAround(d: Digest): void {
    this.around.set(digestString(d), true);
  }

  /** A descriptor to read the blob through (the caller closes it), or undefined when it is gone. */
  open(d: Digest): number | undefined {
    try {
      return retryStale(() => openSync(this.paths.blob(d), 'r')); // opening what exists asks nothing of the journal: inline
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
  }

  async readAll(d: Digest): Promise<Buffer> {
    return retryStaleAsync(() => fs.readFile(this.paths.blob(d)));
  }

  /** Writes bytes whose digest the caller computed, when a touch said the blob is not there. */
  async write(d: Digest, data: Uint8Array): Promise<void> {
    await atomicWrite(this.paths.tmpDir(), this.paths.blob(d), data);
  }

  /** The same write as one file of an atomicWriteAll, for a caller that commits more after it. */
  file(d: Digest, data: Uint8Array): [dest: string, data: Uint8Array] {
    return [this.paths.blob(d), data];
  }

  /**
   * Streams `src` into a temp file while hashing it; if `expected` is given and the
   * bytes do not match, nothing is stored and DIGEST_INVALID is thrown. `link` as in adopt.
   */
  async ingest(src: Readable, expected: Digest | undefined, signal?: AbortSignal, link?: (d: Digest) => Promise<unknown>): Promise<{ digest: Digest; size: number }> {
    const algorithm: Algorithm = expected?.algorithm ?? 'sha256';
    const tmp = tempPath(this.paths.tmpDir());
    const sink = new HashingFileSink(tmp, 'wx', 0, createHash(algorithm));
    let moved = false;
    try {
      await pipeline(src, sink, { signal }); // the sink hashes, writes and syncs
      const digest: Digest = { algorithm, hex: sink.hash.digest('hex') };
      if (expected && !sameDigest(expected, digest)) {
        throw new RegistryError('DIGEST_INVALID', `content has digest ${digestString(digest)}, not ${digestString(expected)}`);
      }
      moved = await this.adopt(tmp, digest, { synced: true, link: link && (() => link(digest)) });
      if (sink.directBytes > sink.bytes / 2) this.wroteAround(digest);
      return { digest, size: sink.bytes };
    } finally {
      if (!moved) await removeFile(tmp).catch(() => undefined); // the cause is what failed above, not the clean-up
    }
  }

  /**
   * Moves a complete file whose digest is known into place (fsyncing it first unless
   * the caller did), then runs `link` (what points at the blob, its folder's fsync left
   * to this one where fsx.fsyncFolderOf allows), then fsyncs the blob's folder: where a
   * journal orders metadata, that one commit makes the rename and the link durable
   * together (see fsx.atomicWriteAll).
   * Also when the blob was there already: another upload of the same bytes may have
   * renamed it a moment ago and not yet made that durable.
   * True when `file` was moved; false when the blob was there and `file` is left
   * for the caller to remove (`link` is told which).
   */
  async adopt(file: string, d: Digest, opts: { synced?: boolean; link?: (moved: boolean) => Promise<unknown> } = {}): Promise<boolean> {
    const dest = this.paths.blob(d);
    const moved = !(await this.touch(d));
    if (moved) {
      if (!opts.synced) await fsyncFile(file);
      await renameMakingParent(file, dest);
    }
    await opts.link?.(moved);
    await fsyncDir(dirname(dest));
    return moved;
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
