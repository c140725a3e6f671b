// The pull-through cache: repositories under an upstream's prefix fill themselves
// from it. What is fetched is stored as ordinary content (a revision, a tag move
// with its history entry, a blob and its link), so it outlives the upstream:
// every revision ever seen pulls by digest with no network.
//
// Rules: a tag checked within the upstream's ttl is served as it is; after that one
// HEAD asks where it points now, and a move is fetched, verified and recorded. Any
// failure to ask (refused, timeout, 5xx, 429) serves what the cache holds; only a
// pull the cache cannot answer fails. Nothing is stored that does not hash to the
// digest it is stored under. One fetch per missing blob, however many clients wait.
import type { Logger } from 'pino';
import { sameDigest } from '../../shared/digest.js';
import { RegistryError } from '../../shared/errors.js';
import { atomicWrite } from '../../shared/fsx.js';
import { type Digest, type Reference, digestString, isDigest, parseDigest } from '../../shared/reference.js';
import { Lru } from '../../store/cache.js';
import { BlobFill } from '../../store/fill.js';
import type { Registry } from '../../store/index.js';
import { type FetchedManifest, MANIFEST_ACCEPT, Upstream, type UpstreamError, type UpstreamResponse } from '../../upstream/client.js';
import type { PullThroughHooks } from '../metrics.js';
import type { UpstreamConfig } from './config.js';

/** A cached repository's upstream, and its name there. */
export interface Source {
  config: UpstreamConfig;
  client: Upstream;
  /** The repository's name upstream. */
  remote: string;
}

/** What the cache did, for the caller's event: fetched a revision and moved a tag, or not. */
export interface Filled {
  digest: Digest;
  tag?: string;
  mediaType: string;
  size: number;
}

/** A revision's use time is refreshed at most this often (the `--unused` GC reads it). */
const SERVED_MARK_MS = 60 * 60 * 1000;
/** Referrers fetched for one list at most: an upstream's list is not a reason to store without bound. */
const MAX_REFERRERS = 1000;
/** Tags (and served revisions) remembered; past it the least recently used are asked (marked) again. */
const MAX_CHECKED = 50_000;

export class PullThrough {
  private readonly sources: { config: UpstreamConfig; client: Upstream }[];
  /** `name:tag` → when the upstream last confirmed where the tag points. */
  private readonly checked = new Lru<number>(MAX_CHECKED);
  /** Tag checks and blob fills under way, so that concurrent requests share one. */
  private readonly checks = new Map<string, Promise<Filled | undefined>>();
  private readonly fills = new Map<string, Promise<BlobFill | 'stored' | undefined>>();
  private readonly marked = new Lru<number>(MAX_CHECKED);

  constructor(
    private readonly reg: Registry,
    upstreams: UpstreamConfig[],
    private readonly logger: Logger,
    private readonly hooks: PullThroughHooks,
  ) {
    this.sources = upstreams.map((config) => ({
      config,
      client: new Upstream(config.url, { creds: config.creds, ca: config.ca, timeoutMs: config.timeoutMs, credsHint: `username and passwordFile for upstream ${config.prefix}` }),
    }));
  }

  /** The upstream `name` is cached from, or undefined for an ordinary repository. */
  source(name: string): Source | undefined {
    for (const s of this.sources) {
      if (!name.startsWith(`${s.config.prefix}/`)) continue;
      const rest = name.slice(s.config.prefix.length + 1);
      return { ...s, remote: s.config.library && !rest.includes('/') ? `library/${rest}` : rest };
    }
    return undefined;
  }

  /** Prefixes served, for the page. */
  upstreams(): { prefix: string; url: string }[] {
    return this.sources.map((s) => ({ prefix: s.config.prefix, url: s.config.url }));
  }

  /**
   * containerd's mirror requests name the registry in `?ns=`: `/v2/library/alpine/…?ns=docker.io`
   * is `/v2/docker.io/library/alpine/…` here. Undefined when `ns` names no upstream.
   */
  pathForNamespace(path: string, ns: string): string | undefined {
    const s = this.sources.find((x) => x.config.prefix === ns);
    if (!s || !path.startsWith('/v2/') || path === '/v2/' || path.startsWith(`/v2/${ns}/`)) return undefined;
    return `/v2/${ns}/${path.slice(4)}`;
  }

  /**
   * Makes `ref` of `name` answerable from the store, as fresh as the rules say; the
   * caller then serves it from the store. Returns what was fetched, if anything.
   */
  async manifest(name: string, src: Source, ref: Reference): Promise<Filled | undefined> {
    if (ref.digest) {
      if (await this.reg.repos.hasRevision(name, ref.digest)) return this.hit(name, ref.digest);
      if (src.config.offline) return undefined; // answers MANIFEST_UNKNOWN
      this.hooks.miss('manifest');
      return this.fetchManifest(name, src, digestString(ref.digest), ref.digest, undefined);
    }
    const key = `${name}:${ref.tag}`;
    const running = this.checks.get(key);
    if (running) return running;
    const check = this.checkTag(name, src, ref.tag).finally(() => this.checks.delete(key));
    this.checks.set(key, check);
    return check;
  }

  private async checkTag(name: string, src: Source, tag: string): Promise<Filled | undefined> {
    const key = `${name}:${tag}`;
    const current = await this.reg.repos.tagCurrent(name, tag);
    const fresh = (this.checked.get(key) ?? -Infinity) > Date.now() - src.config.ttlMs;
    if (current && (fresh || src.config.offline)) return this.hit(name, current);
    if (src.config.offline) return undefined;
    let res: UpstreamResponse;
    try {
      res = await src.client.head(src.remote, `${src.remote}/manifests/${tag}`, { Accept: MANIFEST_ACCEPT });
    } catch (err) {
      return this.unanswered(src, name, tag, current, (err as Error).message);
    }
    if (res.status === 404) {
      // The upstream forgot the tag: the cache remembers it.
      if (current) return this.stale(src, name, tag, current, 'the upstream no longer has this tag');
      return undefined; // answers MANIFEST_UNKNOWN
    }
    if (!res.ok) return this.unanswered(src, name, tag, current, `HEAD answered ${res.status}`);
    const header = res.headers.get('docker-content-digest');
    const named = header && isDigest(header) ? parseDigest(header) : undefined;
    if (current && named && sameDigest(current, named)) {
      this.checked.set(key, Date.now());
      return this.hit(name, current);
    }
    const held = named && (await this.reg.repos.revisionMediaType(name, named));
    if (named && held) {
      // The tag moved to a revision the cache holds already (back to an older one, say): no fetch.
      await this.reg.repos.setTag(name, tag, named);
      this.checked.set(key, Date.now());
      this.hooks.hit('manifest');
      return { digest: named, tag, mediaType: held, size: (await this.reg.blobs.size(named)) ?? 0 };
    }
    this.hooks.miss('manifest');
    try {
      const filled = await this.fetchManifest(name, src, named ? digestString(named) : tag, named, tag);
      this.checked.set(key, Date.now());
      return filled;
    } catch (err) {
      // The upstream moved the tag but its new revision could not be had (or was bad):
      // the cached one still answers.
      if (current) return this.stale(src, name, tag, current, (err as Error).message);
      throw err;
    }
  }

  /**
   * GETs a manifest (by digest when the upstream named one), checks it hashes to
   * that digest, stores it and moves `tag` to it.
   */
  private async fetchManifest(name: string, src: Source, reference: string, expected: Digest | undefined, tag: string | undefined): Promise<Filled> {
    let fetched: FetchedManifest;
    try {
      fetched = await src.client.manifest(src.remote, reference);
    } catch (err) {
      const e = err as UpstreamError;
      if (e.status === 404) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}:${reference} is not known here or upstream (${src.config.url})`);
      if (e.lying) throw this.lying(src, e.message);
      this.hooks.upstreamError(src.config.prefix);
      throw unreachable(src, e.message);
    }
    const { body } = fetched;
    const { mediaType } = fetched.manifest;
    const want = expected ?? fetched.digest;
    let digest: Digest;
    try {
      ({ digest } = await this.reg.manifests.put(name, body, mediaType, want, tag ? [tag] : [], { onDemand: true }));
    } catch (err) {
      throw this.lying(src, `manifest ${reference}: ${(err as Error).message}`);
    }
    await this.markRepository(name, src);
    this.hooks.fetched(src.config.prefix, body.length);
    this.logger.info({ repository: name, reference, digest: digestString(digest), upstream: src.config.url }, 'pull-through: stored a manifest');
    return { digest, tag, mediaType, size: body.length };
  }

  /** The cache answers a tag; the upstream could not be asked. Undefined (unknown) when the cache has nothing. */
  private unanswered(src: Source, name: string, tag: string, current: Digest | undefined, why: string): undefined {
    this.hooks.upstreamError(src.config.prefix);
    if (current) return this.stale(src, name, tag, current, why);
    throw unreachable(src, why);
  }

  private stale(src: Source, name: string, tag: string, current: Digest, why: string): undefined {
    this.hooks.servedStale(src.config.prefix);
    this.logger.warn({ repository: name, tag, upstream: src.config.url, why }, 'pull-through: serving the cached revision');
    void this.markServed(name, current);
    return undefined;
  }

  private hit(name: string, d: Digest): undefined {
    this.hooks.hit('manifest');
    void this.markServed(name, d);
    return undefined;
  }

  /**
   * Refreshes a cached revision's use time, at most once an hour per revision:
   * `cairn gc --unused` removes what was not served for longer than it is given.
   */
  async markServed(name: string, d: Digest): Promise<void> {
    const key = `${name}@${digestString(d)}`;
    const last = this.marked.get(key) ?? 0;
    if (last > Date.now() - SERVED_MARK_MS) return;
    this.marked.set(key, Date.now());
    await this.reg.repos.touchRevision(name, d).catch(() => false);
  }

  /** The first write into a repository names where it is filled from (Tree.upstreamOf). */
  private async markRepository(name: string, src: Source): Promise<void> {
    if (this.reg.repos.upstreamOf(name)) return;
    await atomicWrite(this.reg.paths.tmpDir(), this.reg.paths.upstreamMark(name), JSON.stringify({ url: src.config.url, name: src.remote }));
  }

  /**
   * Before a referrers list of a cached repository: fetches the referrers the upstream
   * lists that the store lacks (each is checked against its digest and linked under
   * its subject, as any manifest is). An upstream that cannot answer leaves the list
   * as the store has it. Returns how many were fetched.
   */
  async referrers(name: string, src: Source, subject: Digest): Promise<number> {
    if (src.config.offline) return 0;
    let listed: { digest?: unknown }[];
    try {
      const res = await src.client.get(src.remote, `${src.remote}/referrers/${digestString(subject)}`, { Accept: 'application/vnd.oci.image.index.v1+json' });
      if (!res.ok) {
        await res.discard();
        if (res.status !== 404) this.hooks.upstreamError(src.config.prefix);
        return 0;
      }
      listed = ((await res.json()) as { manifests?: { digest?: unknown }[] }).manifests ?? [];
    } catch (err) {
      this.hooks.upstreamError(src.config.prefix);
      this.logger.warn({ repository: name, subject: digestString(subject), upstream: src.config.url, why: (err as Error).message }, 'pull-through: referrers from the cache only');
      return 0;
    }
    let fetched = 0;
    for (const r of listed.slice(0, MAX_REFERRERS)) {
      if (typeof r.digest !== 'string' || !isDigest(r.digest)) continue;
      const d = parseDigest(r.digest);
      if (await this.reg.repos.hasRevision(name, d)) continue;
      await this.fetchManifest(name, src, r.digest, d, undefined).then(() => fetched++, () => undefined);
    }
    return fetched;
  }

  /**
   * A blob `name` does not link, for a HEAD: its size from the upstream. One the store
   * holds already (another cached repository) is linked once the upstream vouches
   * that this repository has it too. Undefined when the upstream does not have it.
   */
  async blobSize(name: string, src: Source, d: Digest): Promise<number | undefined> {
    const filling = this.fills.get(digestString(d));
    if (filling) {
      const fill = await filling;
      if (fill instanceof BlobFill) return fill.size;
    }
    const res = await this.askBlob(src, d, 'HEAD');
    if (!res) return undefined;
    if (await this.vouched(name, d)) return this.reg.blobs.size(d);
    const length = Number(res.headers.get('content-length'));
    return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  }

  /**
   * A blob `name` does not link, for a GET: `stored` when the store holds it (and now
   * links it), else its bytes as they arrive from the upstream. Joins the fill under
   * way or starts one; the fill runs to its end whoever stops reading, and the blob is
   * stored and linked only if it hashes to `d`. Undefined when the upstream lacks it.
   */
  async blob(name: string, src: Source, d: Digest): Promise<'stored' | { size: number | undefined; bytes: AsyncGenerator<Buffer> } | undefined> {
    const key = digestString(d);
    let filling = this.fills.get(key);
    if (filling) this.hooks.hit('blob');
    else {
      filling = this.startFill(name, src, d);
      this.fills.set(key, filling);
      filling.then((fill) => (fill instanceof BlobFill ? fill.done : undefined)).catch(() => undefined).finally(() => this.fills.delete(key));
    }
    const fill = await filling;
    if (fill === 'stored' || fill === undefined) return fill;
    fill.done.then(() => this.reg.repos.linkLayer(name, d)).catch(() => undefined); // a joiner may read under another name
    return { size: fill.size, bytes: fill.read() };
  }

  private async startFill(name: string, src: Source, d: Digest): Promise<BlobFill | 'stored' | undefined> {
    const key = digestString(d);
    const res = await this.askBlob(src, d, 'GET');
    if (!res) return undefined;
    if (await this.vouched(name, d)) {
      await res.discard();
      return 'stored';
    }
    this.hooks.miss('blob');
    const length = res.headers.get('content-length');
    const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    const fill = await BlobFill.open(this.reg.blobs, d, size);
    const body = res.body;
    void fill.run(body, () => this.markRepository(name, src).then(() => this.reg.repos.linkLayer(name, d, { sync: false })));
    fill.done.then(
      () => {
        this.hooks.fetched(src.config.prefix, fill.written);
        this.logger.info({ repository: name, digest: key, bytes: fill.written, upstream: src.config.url }, 'pull-through: stored a blob');
      },
      (err: Error) => {
        this.hooks.upstreamError(src.config.prefix);
        this.logger.error({ repository: name, digest: key, upstream: src.config.url, err: err.message }, 'pull-through: the upstream sent a bad blob; nothing was stored');
      },
    );
    return fill;
  }

  /** The store holds `d` (another repository fetched it): the upstream has it under `name` too, so link it. */
  private async vouched(name: string, d: Digest): Promise<boolean> {
    if (!(await this.reg.blobs.touch(d))) return false;
    await this.reg.repos.linkLayer(name, d);
    this.hooks.hit('blob');
    return true;
  }

  /** The upstream's answer for blob `d`, undefined when it has none; throws when it cannot answer. */
  private async askBlob(src: Source, d: Digest, method: 'GET' | 'HEAD'): Promise<UpstreamResponse | undefined> {
    if (src.config.offline) return undefined;
    let res: UpstreamResponse;
    try {
      const path = `${src.remote}/blobs/${digestString(d)}`;
      res = method === 'GET' ? await src.client.get(src.remote, path) : await src.client.head(src.remote, path);
    } catch (err) {
      this.hooks.upstreamError(src.config.prefix);
      throw unreachable(src, (err as Error).message);
    }
    if (res.status === 404) {
      await res.discard();
      return undefined;
    }
    if (!res.ok) {
      await res.discard();
      this.hooks.upstreamError(src.config.prefix);
      throw unreachable(src, `${method} blob answered ${res.status}`);
    }
    return res;
  }

  private lying(src: Source, what: string): RegistryError {
    this.hooks.upstreamError(src.config.prefix);
    return new RegistryError('UNKNOWN', `the upstream ${src.config.url} sent ${what}; nothing was stored`, { status: 502 });
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.client.close()));
  }
}

function unreachable(src: Source, why: string): RegistryError {
  return new RegistryError('UNKNOWN', `the upstream ${src.config.url} could not answer (${why}) and the cache holds nothing for this request`, { status: 502 });
}
