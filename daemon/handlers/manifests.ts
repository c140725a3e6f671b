// GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>
// GET|HEAD|DELETE     /v2/<name>/manifests/<tag>/<digest>   (the tag's history)
import type { Context } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { MAX_MANIFEST_BYTES } from '../../shared/manifest.js';
import { type Digest, type Reference, digestString, isDigest, isName, isTag, parseReference } from '../../shared/reference.js';
import { canonicalUrl, noteEvent } from '../delivery/notifier.js';
import { manifestLocation, readBody } from '../http.js';
import { digestParam, manifestReadings, nameParam, queryAll, tagParam } from '../params.js';
import type { Registry } from '../../store/index.js';
import type { Revision } from '../../store/manifests.js';
import { routeParams } from '../routes.js';
import type { PullThrough } from '../pullthrough/cache.js';

type Target =
  | { name: string; tag: string; digest: Digest; ref?: undefined }
  | { name: string; ref: string; tag?: undefined; digest?: undefined };

export function manifestHandlers(reg: Registry, pullThrough?: PullThrough) {
  /**
   * `<path>/manifests/<rest>` where rest is `<reference>` or `<tag>/<digest>`. Only a
   * tag named `manifests` makes a path read two ways (`a/manifests/manifests/<digest>`
   * is tag `manifests` of `a`, or a digest in `a/manifests`): the repository
   * `a/manifests`, when it exists, wins.
   */
  async function target(ctx: Context): Promise<Target> {
    const readings = manifestReadings(routeParams(ctx).manifest ?? '');
    const history = readings.find((r) => 'tag' in r && isName(r.name) && isTag(r.tag) && isDigest(r.digest.replace(/%3a/gi, ':')));
    const plain = readings.find((r) => 'ref' in r);
    if (history && 'tag' in history && !(plain && isName(plain.name) && (await reg.repos.repositoryExists(plain.name)))) {
      return { name: history.name, tag: history.tag, digest: digestParam(history.digest) };
    }
    if (!plain || !('ref' in plain)) {
      // <tag>/<digest> with a tag or digest outside the grammar: no such revision.
      throw new RegistryError('MANIFEST_UNKNOWN', `no manifest at ${ctx.path}: a tag's history is read as <tag>/<digest>`);
    }
    return { name: nameParam(plain.name), ref: plain.ref.replace(/%3a/gi, ':') };
  }

  async function resolve(t: Target): Promise<Revision> {
    if (t.tag !== undefined) return reg.manifests.resolveInHistory(t.name, t.tag, t.digest);
    return reg.manifests.resolve(t.name, lookupReference(t.name, t.ref));
  }

  return {
    async get(ctx: Context): Promise<void> {
      const t = await target(ctx);
      const src = t.ref !== undefined ? pullThrough?.source(t.name) : undefined;
      if (src && t.ref !== undefined) {
        // A cached repository: bring the reference up to date from the upstream first.
        const filled = await pullThrough!.manifest(t.name, src, lookupReference(t.name, t.ref));
        if (filled) {
          noteEvent(ctx, 'pull-through', { repository: t.name, tag: filled.tag, digest: digestString(filled.digest), mediaType: filled.mediaType, size: filled.size, url: canonicalUrl(ctx, manifestLocation(t.name, filled.digest)) });
        }
      }
      const r = await resolve(t);
      const digest = digestString(r.digest);
      ctx.set({ 'Docker-Content-Digest': digest, ETag: `"${digest}"` });
      ctx.type = r.mediaType;
      ctx.status = 200;
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
      if (ctx.method === 'HEAD') {
        ctx.length = r.size;
        return;
      }
      ctx.body = await reg.manifests.body(r);
      ctx.type = r.mediaType; // setting a Buffer body resets the type
      const tag = t.tag ?? (isTag(t.ref) ? t.ref : undefined);
      noteEvent(ctx, 'pull', { repository: t.name, tag, digest, mediaType: r.mediaType, size: r.size, url: canonicalUrl(ctx, manifestLocation(t.name, r.digest)) });
    },

    async put(ctx: Context): Promise<void> {
      const t = await target(ctx);
      if (t.tag !== undefined) {
        throw new RegistryError('UNSUPPORTED', 'PUT a manifest by tag or by digest, not by tag/digest', { headers: { Allow: 'GET, HEAD, DELETE' } });
      }
      if (!isTag(t.ref) && !isDigest(t.ref)) throw new RegistryError('TAG_INVALID', `${JSON.stringify(t.ref)} is neither a tag nor a digest`);
      const ref = parseReference(t.ref);
      const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...queryAll(ctx.query.tag).map(tagParam)])];
      const body = await readBody(ctx, MAX_MANIFEST_BYTES);
      const { digest, manifest } = await reg.manifests.put(t.name, body, ctx.get('Content-Type'), ref.digest, tags);
      ctx.status = 201;
      ctx.set({ Location: manifestLocation(t.name, digest), 'Docker-Content-Digest': digestString(digest) });
      if (manifest.subject) ctx.set('OCI-Subject', digestString(manifest.subject));
      for (const tag of tags) ctx.append('OCI-Tag', tag);
      ctx.body = ''; // an empty body, not Koa's status text
      const pushed = { repository: t.name, digest: digestString(digest), mediaType: manifest.mediaType, size: body.length, url: canonicalUrl(ctx, manifestLocation(t.name, digest)) };
      for (const tag of tags.length ? tags : [undefined]) noteEvent(ctx, 'push', { ...pushed, tag });
    },

    async delete(ctx: Context): Promise<void> {
      const t = await target(ctx);
      if (t.tag !== undefined) await reg.manifests.deleteFromTag(t.name, t.tag, t.digest);
      else {
        const ref = lookupReference(t.name, t.ref);
        if (ref.digest) await reg.manifests.deleteRevision(t.name, ref.digest);
        else await reg.manifests.deleteTag(t.name, ref.tag);
      }
      const ref = t.tag === undefined ? lookupReference(t.name, t.ref) : { tag: t.tag, digest: t.digest };
      noteEvent(ctx, 'delete', { repository: t.name, tag: ref.tag, digest: ref.digest && digestString(ref.digest) });
      ctx.status = 202;
      ctx.body = ''; // an empty body, not Koa's status text
    },
  };
}

/**
 * A reference to look up (GET, HEAD, DELETE): one that is neither a tag nor a digest
 * names no manifest, so it is MANIFEST_UNKNOWN (404), as clients probing with such
 * names expect; only a PUT to one is a bad request.
 */
function lookupReference(name: string, ref: string): Reference {
  if (!isTag(ref) && !isDigest(ref)) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}:${ref} is not known: ${JSON.stringify(ref)} is neither a tag nor a digest`);
  return parseReference(ref);
}
