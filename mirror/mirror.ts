// `cairn mirror`: pulls images from an upstream registry into the store. Every
// platform of an index and every referrer (via the referrers API) comes along;
// every digest is checked; blobs the store holds are not fetched again, so a run
// cut short is resumed by running it again.
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import { sameDigest } from '../shared/digest.js';
import type { Manifest } from '../shared/manifest.js';
import { type Digest, digestString, isDigest, isTag } from '../shared/reference.js';
import { openRegistry, type Registry } from '../store/index.js';
import { prepareRoot } from '../store/root.js';
import type { OnBytes } from './progress.js';
import type { StoreRef } from './refs.js';
import { Upstream, UpstreamError } from '../upstream/client.js';

export interface MirrorOptions {
  root: string;
  from: string;
  refs: StoreRef[];
  creds?: string;
  onNewBlob?: (size: number) => void;
  onBytes?: OnBytes;
}

export interface MirrorReport {
  manifests: number;
  blobsFetched: number;
  blobsPresent: number;
  bytesFetched: number;
  tagsMoved: string[];
}

export async function mirror(opts: MirrorOptions): Promise<MirrorReport> {
  const reg = openRegistry(resolve(opts.root));
  await prepareRoot(reg.paths);
  const m = new Mirror(reg, new Upstream(opts.from, { creds: opts.creds, credsHint: '--creds USER:PASSWORD' }), opts);
  for (const ref of opts.refs) {
    if (ref.digest) {
      const d = await m.pull(ref.name, digestString(ref.digest));
      if (ref.tag) await m.tag(ref.name, ref.tag, d);
    } else {
      for (const tag of ref.tag ? [ref.tag] : await m.listTags(ref.name)) await m.tag(ref.name, tag, await m.pull(ref.name, tag));
    }
  }
  return m.report;
}

class Mirror {
  readonly report: MirrorReport = { manifests: 0, blobsFetched: 0, blobsPresent: 0, bytesFetched: 0, tagsMoved: [] };
  private readonly done = new Map<string, Digest>();

  constructor(private readonly reg: Registry, private readonly up: Upstream, private readonly opts: MirrorOptions) {}

  async listTags(name: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `${name}/tags/list?n=1000`;
    while (path) {
      const res = await this.up.get(name, path);
      if (!res.ok) throw new UpstreamError(`${name}: tags/list answered ${res.status}`);
      const json = (await res.json()) as { tags?: string[] | null };
      tags.push(...(json.tags ?? []).filter(isTag));
      const next = /<\/v2\/([^>]+)>/.exec(res.headers.get('link') ?? '')?.[1];
      path = next && next !== path ? next : undefined;
    }
    if (!tags.length) throw new UpstreamError(`${name}: the upstream lists no tags`);
    return tags;
  }

  /** Pulls one manifest (tag or digest) with all it references; returns its digest in the store. */
  async pull(name: string, reference: string): Promise<Digest> {
    const key = `${name}@${reference}`;
    const seen = this.done.get(key);
    if (seen) return seen;
    // Checked against the digest asked for or named; put() recomputes and checks it again.
    const { body, manifest: m, digest: expected } = await this.up.manifest(name, reference);
    for (const c of m.children) await this.pull(name, digestString(c));
    for (const b of m.blobs) await this.blob(name, b, sizeOf(m, b));
    const { digest } = await this.reg.manifests.put(name, body, m.mediaType, expected, []);
    this.report.manifests++;
    this.done.set(key, digest);
    this.done.set(`${name}@${digestString(digest)}`, digest);
    await this.referrers(name, digest);
    return digest;
  }

  async tag(name: string, tag: string, d: Digest): Promise<void> {
    const current = await this.reg.repos.tagCurrent(name, tag);
    if (current && sameDigest(current, d)) return;
    await this.reg.repos.setTag(name, tag, d);
    this.report.tagsMoved.push(`${name}:${tag}`);
  }

  /** Fetches a blob unless the store holds it (a resumed run skips it), verifying while writing. */
  private async blob(name: string, d: Digest, size: number | undefined): Promise<void> {
    if (await this.reg.blobs.touch(d)) {
      this.report.blobsPresent++;
    } else {
      this.opts.onNewBlob?.(size ?? 0);
      const res = await this.up.get(name, `${name}/blobs/${digestString(d)}`);
      if (!res.ok) {
        await res.discard();
        throw new UpstreamError(`${name}: blob ${digestString(d)} answered ${res.status}`);
      }
      const onBytes = this.opts.onBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          onBytes?.(chunk.length);
          done(null, chunk);
        },
      });
      const src = res.body;
      src.on('error', (err) => counter.destroy(err));
      try {
        const got = await this.reg.blobs.ingest(src.pipe(counter), d);
        if (size !== undefined && got.size !== size) throw new UpstreamError(`blob ${digestString(d)}: ${got.size} bytes, its descriptor says ${size}`);
        this.report.blobsFetched++;
        this.report.bytesFetched += got.size;
      } catch (err) {
        throw new UpstreamError(`${name}: blob ${digestString(d)}: ${(err as Error).message}`);
      }
    }
    await this.reg.repos.linkLayer(name, d);
  }

  /** Manifests whose subject is `d`, from the referrers API; a registry without it answers 404 and has none to give. */
  private async referrers(name: string, d: Digest): Promise<void> {
    const res = await this.up.get(name, `${name}/referrers/${digestString(d)}`, { Accept: 'application/vnd.oci.image.index.v1+json' });
    if (!res.ok) {
      await res.discard();
      return;
    }
    const json = (await res.json().catch(() => ({}))) as { manifests?: { digest?: string }[] };
    for (const r of json.manifests ?? []) if (typeof r.digest === 'string' && isDigest(r.digest)) await this.pull(name, r.digest);
  }
}

function sizeOf(m: Manifest, b: Digest): number | undefined {
  if (m.kind !== 'image') return undefined;
  const descs = [m.json.config, ...((m.json.layers as unknown[]) ?? [])] as { digest?: string; size?: number }[];
  return descs.find((x) => x?.digest === digestString(b))?.size;
}
