// GET /v2/_catalog, /v2/<name>/tags/list, /v2/<name>/_oci/tag-history/<tag>,
// /v2/<name>/_cairn/revisions — every list sorted and paged with n/last and Link.
import type { Context } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { MediaTypes } from '../../shared/manifest.js';
import { type Digest, digestString } from '../../shared/reference.js';
import { accessOf } from '../auth/middleware.js';
import { DEFAULT_PAGE, nameParam, nextLink, type Page, pageParams, paginate, queryOne, tagParam } from '../params.js';
import type { Registry } from '../../store/index.js';
import { listDigests } from '../../shared/tree.js';
import { routeParams } from '../routes.js';

/** Tags listed per revision in `_cairn/revisions`, at most. */
const TAGS_PER_REVISION = 100;
/** Tags read at once while filling the revisions' lists. */
const TAG_READ_BATCH = 32;

export function listingHandlers(reg: Registry) {
  function page<T>(ctx: Context, items: readonly T[], key: (item: T) => string, p: Page, sorted = true): T[] {
    const { items: taken, next } = paginate(items, key, p, sorted);
    if (next !== undefined) ctx.set('Link', nextLink(ctx.path, p.n!, next));
    return taken;
  }

  async function revisionInfo(name: string, d: Digest): Promise<{ mediaType: string; size: number } | undefined> {
    const [mediaType, size] = await Promise.all([reg.repos.revisionMediaType(name, d), reg.blobs.size(d)]);
    return mediaType === undefined || size === undefined ? undefined : { mediaType, size };
  }

  return {
    async catalog(ctx: Context): Promise<void> {
      const p = pageParams(ctx.query);
      const access = accessOf(ctx); // only what the caller may pull
      const visible = (await reg.repos.listRepositories()).filter((r) => access.unrestricted || access.may(r, 'pull'));
      const repositories = page(ctx, visible, (r) => r, p);
      ctx.body = { repositories };
    },

    async tags(ctx: Context): Promise<void> {
      const name = nameParam(routeParams(ctx).name);
      const p = pageParams(ctx.query);
      const all = await reg.repos.listTags(name);
      if (all.length === 0 && !(await reg.repos.repositoryExists(name))) {
        throw new RegistryError('NAME_UNKNOWN', `repository ${name} is not known`);
      }
      ctx.body = { name, tags: page(ctx, all, (t) => t, p) };
    },

    /**
     * The tag's history as an OCI image index, newest first, a page at a time (100
     * unless `n` says otherwise); the Link's `at` is where the page ended in the tag's
     * log, so the next page reads only itself.
     */
    async tagHistory(ctx: Context): Promise<void> {
      const name = nameParam(routeParams(ctx).name);
      const tag = tagParam(routeParams(ctx).tag);
      const p = pageParams(ctx.query, DEFAULT_PAGE);
      const at = Number(queryOne(ctx.query.at) ?? -1);
      const after = p.last === undefined ? undefined : { digest: p.last, offset: Number.isSafeInteger(at) ? at : -1 };
      const [page, current] = await Promise.all([reg.repos.tagHistoryPage(name, tag, p.n!, after), reg.repos.tagCurrent(name, tag)]);
      if (page.next) ctx.set('Link', `${nextLink(ctx.path, p.n!, page.next.digest).replace('>;', `${page.next.offset >= 0 ? `&at=${page.next.offset}` : ''}>;`)}`);
      const manifests = [];
      for (const e of page.entries) {
        const info = await revisionInfo(name, e.digest);
        if (!info) continue;
        const digest = digestString(e.digest);
        const annotations: Record<string, string> = {
          'org.opencontainers.image.ref.name': tag,
          'dev.cairn.tagged-at': e.taggedAt,
        };
        if (current && digestString(current) === digest) annotations['dev.cairn.current'] = 'true';
        manifests.push({ mediaType: info.mediaType, digest, size: info.size, annotations });
      }
      ctx.type = MediaTypes.ociIndex;
      ctx.body = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
    },

    /**
     * The revisions linked in the repository, a page at a time (100 unless `n` says
     * otherwise), each with the tags at it now and the tags whose history holds it, at
     * most 100 of each (`tagsTruncated`/`historyTruncated` say there are more: tags/list
     * and the tag histories give them all). The tags are read in order, once, and only
     * until every revision of the page has its lists full.
     */
    async revisions(ctx: Context): Promise<void> {
      const name = nameParam(routeParams(ctx).name);
      const p = pageParams(ctx.query, DEFAULT_PAGE);
      const digests = page(ctx, await reg.repos.listRevisions(name), digestString, p);
      const lists = new Map(digests.map((d) => [digestString(d), { tags: [] as string[], history: [] as string[], tagsTruncated: false, historyTruncated: false }]));
      const full = () => [...lists.values()].every((l) => l.tagsTruncated && l.historyTruncated);
      const add = (list: string[], tag: string): boolean => (list.length < TAGS_PER_REVISION ? (list.push(tag), false) : true);
      const tags = await reg.repos.listTags(name);
      // A batch of tags is read at once: each is two small reads, and one after the other they were most of the answer's time.
      for (let i = 0; i < tags.length && !full(); i += TAG_READ_BATCH) {
        const batch = tags.slice(i, i + TAG_READ_BATCH);
        const read = await Promise.all(batch.map(async (tag) => ({ tag, current: await reg.repos.tagCurrent(name, tag), held: await listDigests(reg.paths.tagIndexDir(name, tag)) })));
        for (const { tag, current, held } of read) {
          const at = current && lists.get(digestString(current));
          if (at && !at.tagsTruncated) at.tagsTruncated = add(at.tags, tag);
          for (const d of held) {
            const h = lists.get(digestString(d));
            if (h && !h.historyTruncated) h.historyTruncated = add(h.history, tag);
          }
        }
      }
      const revisions = [];
      for (const d of digests) {
        const info = await revisionInfo(name, d);
        if (!info) continue;
        const digest = digestString(d);
        const l = lists.get(digest)!;
        revisions.push({ digest, ...info, tags: l.tags, history: l.history, ...(l.tagsTruncated && { tagsTruncated: true }), ...(l.historyTruncated && { historyTruncated: true }) });
      }
      ctx.body = { name, revisions };
    },
  };
}
