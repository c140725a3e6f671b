// POST /v2/<name>/blobs/uploads/ (plain, monolithic ?digest=, ?mount=[&from=])
// PATCH|PUT|GET|DELETE /v2/<name>/blobs/uploads/<uuid>
import type { Context } from 'koa';
import type { Digest } from '../../shared/reference.js';
import { digestString } from '../../shared/reference.js';
import { RegistryError } from '../../shared/errors.js';
import { accessOf } from '../auth/middleware.js';
import { canonicalUrl, noteEvent } from '../delivery/notifier.js';
import { blobLocation, chunkRange, hasBody, requestSignal, uploadLocation, uploadRange } from '../http.js';
import { digestParam, nameParam, queryOne, uploadIdParam } from '../params.js';
import type { Registry } from '../../store/index.js';
import { routeParams } from '../routes.js';

export function uploadHandlers(reg: Registry) {
  function created(ctx: Context, name: string, d: Digest): void {
    ctx.status = 201;
    ctx.set({ Location: blobLocation(name, d), 'Docker-Content-Digest': digestString(d) });
    ctx.body = ''; // an empty body, not Koa's status text
  }

  function inProgress(ctx: Context, name: string, id: string, offset: number, status: number): void {
    ctx.status = status;
    ctx.set({ Location: uploadLocation(name, id), Range: uploadRange(offset), 'Docker-Upload-UUID': id });
    ctx.body = ''; // an empty body, not Koa's status text
  }

  function names(ctx: Context): { name: string; id: string } {
    const { name, upload } = routeParams(ctx);
    return { name: nameParam(name), id: uploadIdParam(upload) };
  }

  return {
    async start(ctx: Context): Promise<void> {
      const name = nameParam(routeParams(ctx).name);
      const mountDigest = queryOne(ctx.query.mount);
      if (mountDigest !== undefined) {
        const d = digestParam(mountDigest);
        const access = accessOf(ctx);
        if (await reg.layers.mount(name, d, queryOne(ctx.query.from), access.unrestricted ? 'every' : (repo) => access.may(repo, 'pull'))) {
          const size = await reg.blobs.size(d);
          noteEvent(ctx, 'mount', { repository: name, digest: digestString(d), size, fromRepository: queryOne(ctx.query.from), url: canonicalUrl(ctx, blobLocation(name, d)) });
          return created(ctx, name, d);
        }
      }
      const digest = queryOne(ctx.query.digest);
      if (digest !== undefined) {
        const d = await reg.uploads.putWhole(name, ctx.req, digestParam(digest), requestSignal(ctx));
        return created(ctx, name, d);
      }
      const id = await reg.uploads.create(name);
      inProgress(ctx, name, id, 0, 202);
    },

    async patch(ctx: Context): Promise<void> {
      const { name, id } = names(ctx);
      const range = chunkRange(ctx);
      const offset = await reg.uploads.append(name, id, ctx.req, range?.start, requestSignal(ctx));
      inProgress(ctx, name, id, offset, 202);
    },

    async finish(ctx: Context): Promise<void> {
      const { name, id } = names(ctx);
      const raw = queryOne(ctx.query.digest);
      if (raw === undefined) throw new RegistryError('DIGEST_INVALID', 'completing an upload needs ?digest=');
      const d = digestParam(raw);
      const range = chunkRange(ctx);
      const body = hasBody(ctx) ? ctx.req : undefined;
      await reg.uploads.complete(name, id, d, body, range?.start, requestSignal(ctx)); // stores and links the blob
      created(ctx, name, d);
    },

    async status(ctx: Context): Promise<void> {
      const { name, id } = names(ctx);
      inProgress(ctx, name, id, await reg.uploads.offset(name, id), 204);
    },

    async cancel(ctx: Context): Promise<void> {
      const { name, id } = names(ctx);
      await reg.uploads.cancel(name, id);
      ctx.status = 204;
    },
  };
}
