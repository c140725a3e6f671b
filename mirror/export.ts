// `cairn export`: the revisions named on the command line, with everything they
// reference (config, layers, index children, referrers), as an OCI image layout.
import { resolve } from 'node:path';
import { digestOf } from '../shared/digest.js';
import { MediaTypes, parseManifest } from '../shared/manifest.js';
import { type Digest, digestString } from '../shared/reference.js';
import { openRegistry, type Registry } from '../store/index.js';
import { Annotations, type BlobSource, type LayoutDescriptor, writeBundle } from './bundle.js';
import type { OnBytes } from './progress.js';
import type { StoreRef } from './refs.js';

export interface ExportOptions {
  root: string;
  out: string;
  refs: StoreRef[];
  /** Every revision of each exported tag's history, not only the current one. */
  history?: boolean;
  /** Manifests whose subject is an exported revision (signatures, SBOMs); default true. */
  referrers?: boolean;
  /** Digests the receiving side holds: left out of the bundle (an incremental bundle). */
  have?: Set<string>;
  onStart?: (totalBytes: number) => void;
  onBytes?: OnBytes;
}

export interface ExportReport {
  out: string;
  /** Descriptors in index.json. */
  entries: number;
  manifests: number;
  blobsWritten: number;
  blobsLeftOut: number;
  bytesWritten: number;
}

export async function exportBundle(opts: ExportOptions): Promise<ExportReport> {
  const reg = openRegistry(resolve(opts.root));
  const collector = new Collector(reg, opts.referrers ?? true);
  for (const ref of opts.refs) await collector.addRef(ref, opts.history ?? false);

  const written: BlobSource[] = [];
  let leftOut = 0;
  for (const b of collector.blobs.values()) {
    if (opts.have?.has(digestString(b.digest))) leftOut++;
    else written.push(b);
  }
  const totalBytes = written.reduce((n, b) => n + b.size, 0);
  opts.onStart?.(totalBytes);
  const index = { schemaVersion: 2 as const, mediaType: MediaTypes.ociIndex, manifests: collector.entries };
  await writeBundle(resolve(opts.out), index, written, opts.onBytes);
  return {
    out: opts.out,
    entries: collector.entries.length,
    manifests: collector.manifests.size,
    blobsWritten: written.length,
    blobsLeftOut: leftOut,
    bytesWritten: totalBytes,
  };
}

/** Walks the store from the named references, gathering index.json entries and blobs. */
class Collector {
  readonly entries: LayoutDescriptor[] = [];
  readonly blobs = new Map<string, BlobSource>();
  /** repository + digest → descriptor, for every manifest walked. */
  readonly manifests = new Map<string, LayoutDescriptor>();
  private readonly entryKeys = new Set<string>();
  /** Manifests walked whose referrers are still to be listed (after the entry that led to them). */
  private readonly pendingReferrers: [string, Digest][] = [];

  constructor(private readonly reg: Registry, private readonly withReferrers: boolean) {}

  async addRef(ref: StoreRef, history: boolean): Promise<void> {
    const { repos } = this.reg;
    if (!(await repos.repositoryExists(ref.name))) throw new Error(`${ref.name}: no such repository`);
    if (ref.digest && ref.tag) {
      if (!(await repos.inTagHistory(ref.name, ref.tag, ref.digest))) {
        throw new Error(`${ref.name}:${ref.tag}@${digestString(ref.digest)}: not in the history of that tag`);
      }
      const current = await repos.tagCurrent(ref.name, ref.tag);
      const entry = (await repos.tagHistory(ref.name, ref.tag)).find((e) => digestString(e.digest) === digestString(ref.digest!));
      const isCurrent = current !== undefined && digestString(current) === digestString(ref.digest);
      await this.addEntry(ref.name, ref.digest, {
        [isCurrent ? Annotations.refName : Annotations.historyOf]: ref.tag,
        ...(entry && { [Annotations.taggedAt]: entry.taggedAt }),
      });
    } else if (ref.digest) {
      if (!(await repos.hasRevision(ref.name, ref.digest))) throw new Error(`${ref.name}@${digestString(ref.digest)}: no such revision`);
      await this.addEntry(ref.name, ref.digest, {});
    } else {
      const tags = ref.tag ? [ref.tag] : await repos.listTags(ref.name);
      for (const tag of tags) await this.addTag(ref.name, tag, history);
    }
  }

  /** The tag's current revision first (other tools take the first match of ref.name), then, with history, the rest newest first. */
  private async addTag(name: string, tag: string, history: boolean): Promise<void> {
    const { repos } = this.reg;
    const current = await repos.tagCurrent(name, tag);
    if (!current) throw new Error(`${name}:${tag}: no such tag`);
    const entries = await repos.tagHistory(name, tag);
    const at = entries.find((e) => digestString(e.digest) === digestString(current))?.taggedAt;
    await this.addEntry(name, current, { [Annotations.refName]: tag, ...(at && { [Annotations.taggedAt]: at }) });
    if (!history) return;
    for (const e of entries) {
      if (digestString(e.digest) === digestString(current)) continue;
      await this.addEntry(name, e.digest, { [Annotations.historyOf]: tag, [Annotations.taggedAt]: e.taggedAt });
    }
  }

  private async addEntry(name: string, d: Digest, annotations: Record<string, string>): Promise<void> {
    const desc = await this.walk(name, d);
    const all = { [Annotations.repository]: name, ...desc.annotations, ...annotations };
    const key = JSON.stringify([desc.digest, all]);
    if (this.entryKeys.has(key)) return;
    this.entryKeys.add(key);
    this.entries.push({ ...desc, annotations: all });
    // Referrers follow the entry they refer to (and their own referrers follow them).
    while (this.withReferrers && this.pendingReferrers.length) {
      const [repo, subject] = this.pendingReferrers.shift()!;
      for (const r of await this.reg.repos.listReferrers(repo, subject)) await this.addEntry(repo, r, {});
    }
  }

  /** A manifest and everything it references; returns its descriptor. */
  private async walk(name: string, d: Digest): Promise<LayoutDescriptor> {
    const key = `${name}@${digestString(d)}`;
    const seen = this.manifests.get(key);
    if (seen) return seen;
    const { manifests, blobs } = this.reg;
    const revision = await manifests.resolve(name, { digest: d });
    const body = await manifests.body(revision);
    // A schema1 revision is served as payload + signatures: carry those bytes, under their own digest.
    const carried = revision.body ? digestOf(body) : d;
    const desc: LayoutDescriptor = {
      mediaType: revision.mediaType,
      digest: digestString(carried),
      size: body.length,
      ...(revision.body && { annotations: { [Annotations.payloadDigest]: digestString(d) } }),
    };
    this.manifests.set(key, desc);
    this.blobs.set(digestString(carried), revision.body ? { digest: carried, size: body.length, data: body } : { digest: d, size: body.length, file: this.reg.paths.blob(d) });

    const m = parseManifest(body, revision.mediaType);
    if (m.artifactType) desc.artifactType = m.artifactType;
    for (const b of m.blobs) {
      const size = await blobs.size(b);
      if (size === undefined) throw new Error(`${name}@${digestString(d)} references blob ${digestString(b)}, which the store does not hold`);
      this.blobs.set(digestString(b), { digest: b, size, file: this.reg.paths.blob(b) });
    }
    for (const c of m.children) await this.walk(name, c);
    this.pendingReferrers.push([name, d]);
    return desc;
  }
}
