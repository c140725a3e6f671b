// Bundles: OCI image layouts (oci-layout, index.json, blobs/<alg>/<hex>), as a
// directory or a tar (gzip is read too). Reading verifies every blob's bytes
// against its name while copying it to a staging folder; nothing is trusted
// before it has been hashed.
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { HashingStream, sameDigest } from '../shared/digest.js';
import { mkdirp, readOrUndefined, removeTree } from '../shared/fsx.js';
import { LAYOUT_FILES, LayoutPaths, layoutBlobEntry, partialPath } from '../shared/paths.js';
import { type Digest, digestString } from '../shared/reference.js';
import type { OnBytes } from './progress.js';
import { pathExistsSync, statSyncOrUndefined } from '../shared/syncfs.js';

/** Annotations Cairn writes on the descriptors of index.json (see README "Bundle format"). */
export const Annotations = {
  /** The tag whose current revision this is (the OCI standard one; other tools read it). */
  refName: 'org.opencontainers.image.ref.name',
  /** The repository the revision belongs to. */
  repository: 'dev.cairn.repository',
  /** When the tag moved to this revision (ISO-8601), as in the tag history. */
  taggedAt: 'dev.cairn.tagged-at',
  /** With --history: the tag whose history holds this revision, when it is not the tag's current one. */
  historyOf: 'dev.cairn.history-of',
  /** A schema1 manifest is carried as its served JWS; this is its (payload) digest in the registry. */
  payloadDigest: 'dev.cairn.payload-digest',
} as const;

export interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface LayoutIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: LayoutDescriptor[];
}

/** Something wrong with a bundle; nothing was imported. */
export class BundleError extends Error {}

export interface StagedBlob {
  file: string;
  size: number;
}

export interface BundleReader {
  /** The parsed index.json. */
  index: LayoutIndex;
  /** A blob of the bundle, verified and staged; undefined when the bundle does not hold it. */
  blob(d: Digest): Promise<StagedBlob | undefined>;
}

/**
 * Opens a bundle (a layout directory, or a tar / tar.gz of one), staging verified
 * blobs at `stagedFile(d)`. A tar is read once, start to end; a directory lazily.
 */
export async function openBundle(source: string, stagedFile: (d: Digest) => string, onBytes?: OnBytes): Promise<BundleReader> {
  const st = statSyncOrUndefined(source);
  if (!st) throw new BundleError(`${source}: no such file or directory`);
  return st.isDirectory() ? openDir(source, stagedFile, onBytes) : openTar(source, stagedFile, onBytes);
}

async function openDir(dir: string, stagedFile: (d: Digest) => string, onBytes?: OnBytes): Promise<BundleReader> {
  const layout = new LayoutPaths(dir);
  checkLayoutVersion(await readOrUndefined(layout.ociLayout()));
  const index = parseIndex(await readOrUndefined(layout.index()));
  const staged = new Map<string, Promise<StagedBlob | undefined>>();
  return {
    index,
    blob(d) {
      const key = digestString(d);
      let p = staged.get(key);
      if (!p) {
        p = (async () => {
          if (!pathExistsSync(layout.blob(d))) return undefined;
          return stage(createReadStream(layout.blob(d)), d, stagedFile(d), onBytes);
        })();
        staged.set(key, p);
      }
      return p;
    },
  };
}

async function openTar(file: string, stagedFile: (d: Digest) => string, onBytes?: OnBytes): Promise<BundleReader> {
  const staged = new Map<string, StagedBlob>();
  const pending: Promise<void>[] = [];
  let indexBytes: Buffer | undefined;
  let layoutBytes: Buffer | undefined;
  let reading = '';
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      reading = entry.path;
      const name = tarEntryName(entry.path);
      const d = entry.type === 'File' ? layoutBlobEntry(entry.path) : undefined;
      if (d) {
        // Readable.from: node's pipeline() straight from a tar ReadEntry (a Minipass stream)
        // can resolve before the file is written; async iteration keeps both in step.
        const p = stage(Readable.from(entry), d, stagedFile(d), onBytes).then((s) => void staged.set(digestString(d), s));
        p.catch(() => undefined); // awaited below; keep an early rejection from being "unhandled"
        pending.push(p);
      } else if (entry.type === 'File' && (name === LAYOUT_FILES.index || name === LAYOUT_FILES.ociLayout)) {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          if (name === LAYOUT_FILES.index) indexBytes = Buffer.concat(chunks);
          else layoutBytes = Buffer.concat(chunks);
        });
      } else {
        entry.resume();
      }
    },
  });
  try {
    await pipeline(createReadStream(file), parser as unknown as Writable);
  } catch (err) {
    await Promise.allSettled(pending);
    const d = layoutBlobEntry(reading);
    const where = d ? `blob ${digestString(d)}` : reading ? `entry ${reading}` : 'the start';
    throw new BundleError(`${file}: the tar is cut short or damaged at ${where}: ${(err as Error).message}`);
  }
  for (const r of await Promise.allSettled(pending)) if (r.status === 'rejected') throw r.reason;
  checkLayoutVersion(layoutBytes);
  const index = parseIndex(indexBytes);
  return { index, blob: async (d) => staged.get(digestString(d)) };
}

/** Copies `src` to `dest` while hashing; refuses (naming the blob) when the bytes are not `d`. */
async function stage(src: NodeJS.ReadableStream, d: Digest, dest: string, onBytes?: OnBytes): Promise<StagedBlob> {
  const hasher = new HashingStream(d.algorithm);
  if (onBytes) hasher.on('data', (c: Buffer) => onBytes(c.length));
  try {
    await pipeline(src, hasher, createWriteStream(dest, { flags: 'w' }));
  } catch (err) {
    throw new BundleError(`blob ${digestString(d)} could not be read: ${(err as Error).message}`);
  }
  const actual: Digest = { algorithm: d.algorithm, hex: hasher.hash.digest('hex') };
  if (!sameDigest(actual, d)) {
    await fs.rm(dest, { force: true });
    throw new BundleError(`blob ${digestString(d)} is corrupt or cut short: its ${hasher.bytes} byte(s) hash to ${digestString(actual)}`);
  }
  return { file: dest, size: hasher.bytes };
}

function checkLayoutVersion(bytes: Buffer | undefined): void {
  if (!bytes) throw new BundleError(`not an OCI image layout: ${LAYOUT_FILES.ociLayout} is missing`);
  let v: unknown;
  try {
    v = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    throw new BundleError(`${LAYOUT_FILES.ociLayout} is not JSON`);
  }
  if (typeof v !== 'string' || !v.startsWith('1.')) throw new BundleError(`unsupported imageLayoutVersion ${JSON.stringify(v)}`);
}

function parseIndex(bytes: Buffer | undefined): LayoutIndex {
  if (!bytes) throw new BundleError(`not an OCI image layout: ${LAYOUT_FILES.index} is missing`);
  let json: LayoutIndex;
  try {
    json = JSON.parse(bytes.toString('utf8')) as LayoutIndex;
  } catch (err) {
    throw new BundleError(`${LAYOUT_FILES.index} is not JSON: ${(err as Error).message}`);
  }
  if (!json || !Array.isArray(json.manifests)) throw new BundleError(`${LAYOUT_FILES.index} has no "manifests" array`);
  return json;
}

/** A blob to write into a bundle: a file to copy (or hard-link), or bytes. */
export type BlobSource = { digest: Digest; size: number } & ({ file: string } | { data: Buffer });

/**
 * Writes an OCI layout to `out`: a directory, or a tar when `out` ends in `.tar`.
 * Everything is written beside `out` first and renamed into place at the end, so a
 * watcher never sees half a bundle.
 */
export async function writeBundle(out: string, index: LayoutIndex, blobs: BlobSource[], onBytes?: OnBytes): Promise<void> {
  if (pathExistsSync(out)) throw new Error(`${out} already exists; choose another --out`);
  const asTar = out.endsWith('.tar');
  const dir = partialPath(asTar ? `${out}.d` : out);
  await removeTree(dir);
  try {
    const layout = new LayoutPaths(dir);
    await mkdirp(layout.blobsDir());
    for (const b of blobs) {
      await mkdirp(layout.algorithmDir(b.digest.algorithm));
      const dest = layout.blob(b.digest);
      if ('data' in b) await fs.writeFile(dest, b.data);
      // A tar is built from the folder and the folder removed, so a hard link (no copy) is safe there.
      else if (asTar) await fs.link(b.file, dest).catch(() => fs.copyFile(b.file, dest));
      else await fs.copyFile(b.file, dest, fs.constants.COPYFILE_FICLONE);
      onBytes?.(b.size);
    }
    await fs.writeFile(layout.ociLayout(), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    await fs.writeFile(layout.index(), `${JSON.stringify(index, null, 2)}\n`);
    if (!asTar) {
      await fs.rename(dir, out);
      return;
    }
    const partial = partialPath(out);
    try {
      await tar.create({ file: partial, cwd: dir, portable: true }, [LAYOUT_FILES.ociLayout, LAYOUT_FILES.index, LAYOUT_FILES.blobs]);
      await fs.rename(partial, out);
    } finally {
      await fs.rm(partial, { force: true });
    }
  } finally {
    await removeTree(dir);
  }
}

/** A tar entry's path with a leading `./` taken off (skopeo writes none, GNU tar may). */
function tarEntryName(entryPath: string): string {
  return entryPath.replace(/^\.\//, '');
}
