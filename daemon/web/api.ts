// The JSON the page reads: repositories (searchable), a repository's tags, a tag's
// history (the timeline), one revision in detail. Every list is paged with n/last,
// so a store of 1,000 repositories or a tag of 1,000 revisions costs one page of
// lookups per request, not all of them.
//
// Each answer applies the caller's pull rights, as /v2/ does: a repository the caller
// may not pull does not exist for it (absent from lists, 404 by name, not 403, so
// names do not leak), and nothing says whether a blob is stored outside the
// repository asked about.
import { type Manifest, parseManifest } from '../../shared/manifest.js';
import { type Digest, digestString, isDigest, parseDigest, parseName, parseTag } from '../../shared/reference.js';
import { RegistryError } from '../../shared/errors.js';
import type { Access } from '../auth/rules.js';
import { type Page, paginate } from '../params.js';
import { readTextSyncOrUndefined, statSyncOrUndefined } from '../../shared/syncfs.js';
import { compareStrings, listDigests } from '../../shared/tree.js';
import type { Registry } from '../../store/index.js';
import { imageFacts } from './image.js';

export const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

export function pageOf(query: Record<string, string | string[] | undefined>): Required<Pick<Page, 'n'>> & Page {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const n = Number(one(query.n) ?? DEFAULT_PAGE);
  if (!Number.isSafeInteger(n) || n < 1) throw new RegistryError('UNSUPPORTED', 'n must be a whole number ≥ 1', { status: 400 });
  return { n: Math.min(n, MAX_PAGE), last: one(query.last) || undefined };
}

export function webApi(reg: Registry) {
  const image = imageFacts(reg);
  async function sizeAndType(name: string, d: Digest) {
    const [mediaType, size] = await Promise.all([reg.repos.revisionMediaType(name, d), reg.blobs.size(d)]);
    return { mediaType, size };
  }

  /** `name`, when it is a repository the caller may pull; else NAME_UNKNOWN, whichever the reason. */
  async function visible(access: Access, name: string): Promise<string> {
    if ((access.unrestricted || access.may(name, 'pull')) && (await reg.repos.repositoryExists(name))) return name;
    throw new RegistryError('NAME_UNKNOWN', `repository ${name} is not known`);
  }

  /** A descriptor's blob is stored for this repository: one it may serve, as a pull would. */
  async function linkedHere(name: string, d: Digest): Promise<boolean> {
    return (await reg.layers.servable(name, d)) !== undefined;
  }

  return {
    async repositories(access: Access, q: string, page: Page) {
      const all = (await reg.repos.listRepositories()).filter((r) => access.unrestricted || access.may(r, 'pull'));
      const needle = q.trim().toLowerCase();
      const matching = needle ? all.filter((r) => r.includes(needle)) : all;
      const { items, next } = paginate(matching, (r) => r, page);
      const repositories = await Promise.all(items.map(async (name) => ({ name, tags: (await reg.repos.listTags(name)).length, upstream: reg.repos.upstreamOf(name)?.url })));
      return { total: matching.length, repositories, next };
    },

    /**
     * A repository's tags, by name or by when each last moved (newest first), filtered
     * by `q`. A tag's move time is its `current` file's mtime: one stat, not a read of
     * its history.
     */
    async tags(access: Access, repo: string, page: Page, opts: { sort?: 'name' | 'moved'; q?: string } = {}) {
      const name = await visible(access, repo);
      const needle = (opts.q ?? '').trim();
      let all = (await reg.repos.listTags(name)).filter((t) => !needle || t.includes(needle));
      const moved = new Map<string, number>();
      if (opts.sort === 'moved') {
        for (const t of all) moved.set(t, statSyncOrUndefined(reg.paths.tagCurrent(name, t))?.mtimeMs ?? 0);
        all = all.sort((a, b) => moved.get(b)! - moved.get(a)! || compareStrings(a, b));
      }
      const { items, next } = paginate(all, (t) => t, page, opts.sort !== 'moved');
      const tags = await Promise.all(
        items.map(async (tag) => {
          const current = await reg.repos.tagCurrent(name, tag);
          const [taggedAt, revisions] = await Promise.all([
            current ? readTextSyncOrUndefined(reg.paths.tagIndexEntry(name, tag, current))?.trim() : undefined,
            listDigests(reg.paths.tagIndexDir(name, tag)).then((ds) => ds.length),
          ]);
          return { tag, current: current && digestString(current), taggedAt, revisions };
        }),
      );
      return { name, upstream: reg.repos.upstreamOf(name)?.url, total: all.length, tags, next };
    },

    async history(access: Access, repo: string, tag: string, page: Page) {
      const name = await visible(access, repo);
      const [all, current] = await Promise.all([reg.repos.tagHistory(name, tag), reg.repos.tagCurrent(name, tag)]);
      const { items, next } = paginate(all, (e) => digestString(e.digest), page, false);
      const pointing = await reg.repos.tagsAt(name);
      const entries = await Promise.all(
        items.map(async (e) => ({
          digest: digestString(e.digest),
          taggedAt: e.taggedAt,
          ...(await sizeAndType(name, e.digest)),
          imageSize: await image.size(name, e.digest),
          tags: (pointing.get(digestString(e.digest)) ?? []).filter((t) => t !== tag), // the other tags at this revision
          current: current !== undefined && current.hex === e.digest.hex,
        })),
      );
      return { name, tag, current: current && digestString(current), total: all.length, entries, next };
    },

    async revision(access: Access, repo: string, d: Digest) {
      const name = await visible(access, repo);
      const { mediaType, size } = await sizeAndType(name, d);
      if (mediaType === undefined || size === undefined) {
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}@${digestString(d)} is not known`);
      }
      const body = await reg.blobs.readAll(d);
      let manifest: Manifest | undefined;
      try {
        manifest = parseManifest(body, mediaType);
      } catch {
        // shown raw below; a manifest the store holds parsed once, so this is a damaged tree (fsck's job)
      }
      const json = manifest?.json ?? {};
      const descriptors = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
      const withPresence = async (list: Record<string, unknown>[]) =>
        Promise.all(list.map(async (x) => ({ ...x, stored: typeof x.digest === 'string' && isDigest(x.digest) && (await linkedHere(name, parseDigest(x.digest))) })));
      const schema1Layers = descriptors(json.fsLayers).map((l) => ({ digest: l.blobSum, mediaType: 'application/vnd.docker.container.image.rootfs.diff+x-gtar' }));
      const [facts, referrers] = await Promise.all([image.facts(name, d, manifest), image.referrers(name, d)]);
      const attachments = await image.attachments(name, d, referrers);
      const signatures = (await reg.signatures.list(d)).map((s) => ({
        alg: s.header.alg,
        key: s.header.jwk ? `jwk ${s.header.jwk.kty ?? ''} ${s.header.jwk.crv ?? ''} ${s.header.jwk.kid ?? ''}`.trim() : s.header.x5c ? `x5c chain of ${s.header.x5c.length}` : 'none',
        signature: s.signature.slice(0, 24),
      }));
      const tags = (await reg.repos.tagsAt(name)).get(digestString(d)) ?? [];
      const history: string[] = [];
      for (const tag of await reg.repos.listTags(name)) if (await reg.repos.inTagHistory(name, tag, d)) history.push(tag);
      return {
        name,
        digest: digestString(d),
        mediaType,
        size,
        tags,
        history,
        config: json.config ?? null,
        layers: await withPresence([...descriptors(json.layers), ...schema1Layers]),
        manifests: descriptors(json.manifests),
        subject: json.subject ?? null,
        annotations: json.annotations ?? {},
        ...facts,
        attachments,
        referrers: referrers.map(({ kind: _kind, ...r }) => r),
        signatures,
        manifest: body.toString('utf8'),
      };
    },
  };
}

export function nameQuery(v: unknown): string {
  return parseName(typeof v === 'string' ? v : '');
}
export function tagQuery(v: unknown): string {
  return parseTag(typeof v === 'string' ? v : '');
}
export function digestQuery(v: unknown): Digest {
  return parseDigest(typeof v === 'string' ? v : '');
}
