// Blob uploads in progress. Starting one writes nothing: its id proves that a daemon
// on this root issued it for this repository (uploadids.ts). Its first bytes make
// its folder under the repository's _uploads/, where bytes and state live on disk,
// so an upload survives a restart and can be resumed by any daemon on the root; a
// body that completes a session with no bytes yet goes straight to the blob store.
// An ended session (completed or cancelled) keeps its folder, emptied, so that its
// id stays refused (the GC removes it after --upload-ttl). The running hash is only
// an in-memory shortcut that is rebuilt from the data file whenever it is missing or
// stale.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sameDigest } from '../shared/digest.js';
import { RegistryError, UploadOffsetError } from '../shared/errors.js';
import { createFile, fsyncNewFolders, makeFolder, removeFile } from '../shared/fsx.js';
import { isCode, statSyncOrUndefined } from '../shared/syncfs.js';
import type { Paths } from '../shared/paths.js';
import { thisProcess } from '../shared/holder.js';
import { type Digest, digestString } from '../shared/reference.js';
import type { BlobStore } from './blobs.js';
import type { Repositories } from './repository.js';
import { HashingFileSink } from './sink.js';
import { UploadIds } from './uploadids.js';
import { Lru } from './cache.js';

/** Ended ids this process remembers, so that it refuses them again even where no folder says so (a signed id proves it was issued, not that it is open). */
const ENDED_IDS = 10_000;

interface Session {
  hash: Hash;
  offset: number;
  /** The sink of the request writing this upload now, if any. */
  sink?: HashingFileSink;
  /** Serialises requests on one upload within this process. */
  queue: Promise<unknown>;
  /** Bytes this process wrote to it around the page cache. */
  directBytes: number;
}

export interface UploadState {
  name: string;
  startedAt: string;
  /** Who started it (for a report; any daemon on the root may continue it). */
  host?: string;
  pid?: number;
}

export class UploadStore {
  readonly paths: Paths;
  readonly blobs: BlobStore;
  readonly repos: Repositories;
  private readonly sessions = new Map<string, Session>();
  private readonly ids: UploadIds;
  private readonly ended = new Lru<true>(ENDED_IDS);

  constructor(paths: Paths, blobs: BlobStore, repos: Repositories) {
    this.paths = paths;
    this.blobs = blobs;
    this.repos = repos;
    this.ids = new UploadIds(paths);
  }

  /** A monolithic upload (POST `?digest=`): the body is the blob, stored and linked into `name` at once. */
  async putWhole(name: string, src: Readable, digest: Digest, signal?: AbortSignal): Promise<Digest> {
    return (await this.ingestWhole(name, src, digest, signal)).digest;
  }

  private ingestWhole(name: string, src: Readable, digest: Digest, signal?: AbortSignal): Promise<{ digest: Digest; size: number }> {
    return this.blobs.ingest(src, digest, signal, (d) => this.repos.linkLayer(name, d, { sync: false }));
  }

  /** Run at start-up: see UploadIds.prepare. */
  async prepare(): Promise<void> {
    await this.ids.prepare();
  }

  /** Starts an upload: only its id, which any daemon on the root can check. */
  async create(name: string): Promise<string> {
    return this.ids.issue(name);
  }

  /**
   * Makes the folder of a session whose first bytes arrive: an empty data file and
   * the state (what the GC reports). Nothing is fsynced here: the fsync of the chunk
   * (HashingFileSink) is what makes the folder's creation durable with it, on ext4
   * (with or without a journal) and xfs; elsewhere append() syncs the folder after
   * that chunk. A crash before then loses only bytes nobody acknowledged. The
   * folders above it (a new repository's) stay, so they are made durable where
   * that takes fsyncs. Another daemon may have made it a moment ago: then its files stand.
   */
  private async open(name: string, id: string): Promise<void> {
    await makeFolder(this.paths.upload(name, id), { nameLater: true });
    const state: UploadState = { name, startedAt: new Date().toISOString(), ...thisProcess() };
    // O_EXCL: whoever made the folder first wrote these; a torn state file only loses the report's start time.
    await Promise.all([
      createFile(this.paths.uploadData(name, id)).catch(ignoreExists),
      createFile(this.paths.uploadState(name, id), JSON.stringify(state)).catch(ignoreExists),
    ]);
  }

  /**
   * Bytes received so far; BLOB_UPLOAD_UNKNOWN when there is no such upload. A chunk
   * cut short writes out what arrived as its sink closes, and that is waited for.
   */
  async offset(name: string, id: string): Promise<number> {
    const sink = this.sessions.get(id)?.sink;
    if (sink?.destroyed) await sink.whenClosed();
    return this.size(name, id);
  }

  private async size(name: string, id: string): Promise<number> {
    return this.bytesHeld(name, id) ?? 0;
  }

  /**
   * The bytes an upload's data file holds; undefined for a session issued here that
   * has none yet (no folder); BLOB_UPLOAD_UNKNOWN for an id never issued for `name`,
   * cancelled (its folder is empty) or completed.
   */
  private bytesHeld(name: string, id: string): number | undefined {
    const st = statSyncOrUndefined(this.paths.uploadData(name, id));
    if (st) return st.size;
    if (this.ended.get(id) || statSyncOrUndefined(this.paths.upload(name, id)) || !this.ids.issued(name, id)) throw unknownUpload(id);
    return undefined;
  }

  /**
   * Appends a chunk. `start`, when the client sent a Content-Range, must equal the
   * current offset (416 otherwise). A chunk cut short (the client went away, or
   * stalled past --idle-timeout) keeps the bytes that arrived: the upload's status
   * tells the client where to resume.
   */
  async append(name: string, id: string, src: Readable, start?: number, signal?: AbortSignal): Promise<number> {
    return this.exclusive(name, id, async (session, folderless) => {
      if (start !== undefined && start !== session.offset) throw rangeError(session.offset, `chunk starts at ${start}`);
      const first = session.offset === 0;
      if (folderless) await this.open(name, id);
      await this.write(name, id, session, src, signal, 'keep');
      // The first bytes make the session worth keeping: where new folders do not follow
      // their files' fsyncs (shared/durability.ts), its folder and its name are synced.
      if (first && session.offset > 0) {
        const dir = this.paths.upload(name, id);
        await fsyncNewFolders([dir, dirname(dir)]);
      }
      return session.offset;
    });
  }

  /**
   * Finishes an upload: appends the optional final chunk, checks the digest, moves
   * the data into the blob store and links it into the repository. On a digest
   * mismatch the upload is left as it was.
   */
  async complete(name: string, id: string, digest: Digest, src?: Readable, start?: number, signal?: AbortSignal): Promise<number> {
    return this.exclusive(name, id, async (session, folderless) => {
      if (start !== undefined && start !== session.offset) throw rangeError(session.offset, `chunk starts at ${start}`);
      if (folderless) {
        // No bytes before this request: the body is the whole blob, stored as a monolithic upload is.
        const got = await this.ingestWhole(name, src ?? Readable.from([]), digest, signal);
        this.end(id);
        return got.size;
      }
      const before = { offset: session.offset, hash: session.hash.copy() };
      if (src) await this.write(name, id, session, src, signal, 'roll back'); // a final chunk is whole or nothing
      const data = this.paths.uploadData(name, id);
      const actual: Digest =
        digest.algorithm === 'sha256'
          ? { algorithm: 'sha256', hex: session.hash.copy().digest('hex') }
          : { algorithm: digest.algorithm, hex: (await hashFile(data, digest.algorithm)).digest('hex') };
      if (!sameDigest(actual, digest)) {
        await fs.truncate(data, before.offset);
        session.offset = before.offset;
        session.hash = before.hash;
        throw new RegistryError('DIGEST_INVALID', `upload has digest ${digestString(actual)}, not ${digestString(digest)}`);
      }
      // Every chunk was synced when written. Once the blob is in place it is linked into
      // the repository (one fsync makes both durable) while the upload's folder is cleared.
      await this.blobs.adopt(data, digest, {
        synced: true,
        link: (moved) => Promise.all([this.repos.linkLayer(name, digest, { sync: false }), this.empty(name, id, { dataMoved: moved })]),
      });
      if (session.directBytes > session.offset / 2) this.blobs.wroteAround(digest);
      return session.offset;
    });
  }

  /** Cancels an upload: its folder stays, empty, so every daemon refuses its id from now on. */
  async cancel(name: string, id: string): Promise<void> {
    await this.offset(name, id);
    await makeFolder(this.paths.upload(name, id)); // a session with no bytes has none yet
    await this.empty(name, id);
  }

  /**
   * Ends a session: its two files go (the data only if it was not moved into the blob
   * store), its folder stays, empty, so that every daemon and every restart refuses
   * the id: a client whose final PUT was cut by a crash asks where the upload stands
   * and hears it is gone, not that it holds nothing (the GC removes the folder after
   * --upload-ttl). A session that never held bytes has no folder to leave, and nothing
   * acknowledged to misreport.
   */
  private async empty(name: string, id: string, opts: { dataMoved?: boolean } = {}): Promise<void> {
    this.end(id);
    await Promise.all([opts.dataMoved ? undefined : removeFile(this.paths.uploadData(name, id)), removeFile(this.paths.uploadState(name, id))]);
  }

  private end(id: string): void {
    this.sessions.delete(id);
    this.ended.set(id, true);
  }

  /** Streams `src` onto the upload's data; on failure keeps what arrived, or rolls the chunk back. */
  private async write(name: string, id: string, session: Session, src: Readable, signal: AbortSignal | undefined, cut: 'keep' | 'roll back'): Promise<void> {
    const before = { offset: session.offset, hash: session.hash.copy() };
    const data = this.paths.uploadData(name, id);
    const sink = new HashingFileSink(data, 'r+', session.offset, session.hash);
    session.sink = sink;
    try {
      await pipeline(src, sink, { signal }); // the sink syncs: a chunk is acknowledged only once it is on disk
      session.offset += sink.bytes;
      session.directBytes += sink.directBytes;
      session.sink = undefined;
    } catch (err) {
      await sink.whenClosed(); // it writes out what it gathered: no write of it lands after this
      if (cut === 'keep') {
        session.offset = -1; // the next request hashes what the file holds
      } else {
        await fs.truncate(data, before.offset).catch(() => undefined);
        session.offset = before.offset;
        session.hash = before.hash;
      }
      session.sink = undefined;
      throw err;
    }
  }

  /** Runs `fn` with this upload's session, one request at a time. */
  /** `fn` is told whether the upload has no folder yet (issued, no bytes: see bytesHeld). */
  private async exclusive<T>(name: string, id: string, fn: (s: Session, folderless: boolean) => Promise<T>): Promise<T> {
    await this.size(name, id);
    let session = this.sessions.get(id);
    if (!session) {
      session = { hash: createHash('sha256'), offset: -1, queue: Promise.resolve(), directBytes: 0 };
      this.sessions.set(id, session);
    }
    const s = session;
    const run = s.queue.then(async () => {
      const held = this.bytesHeld(name, id);
      const size = held ?? 0;
      // Another process (or a restart) may have written this upload: rehash from disk.
      if (s.offset !== size) {
        s.hash = size === 0 ? createHash('sha256') : await hashFile(this.paths.uploadData(name, id), 'sha256');
        s.offset = size;
      }
      return fn(s, held === undefined);
    });
    s.queue = run.catch(() => undefined);
    return run;
  }
}

async function hashFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<Hash> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash;
}

function ignoreExists(err: unknown): void {
  if (!isCode(err, 'EEXIST')) throw err;
}

function unknownUpload(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not in progress`);
}

function rangeError(offset: number, what: string): RegistryError {
  return new UploadOffsetError(offset, `${what}, but the upload holds ${offset} bytes`);
}
