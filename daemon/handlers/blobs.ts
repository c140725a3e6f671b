// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { type Digest, digestString } from '../../shared/reference.js';
import { byteRange } from '../http.js';
import { sendFile } from '../sendfile.js';
import { digestParam, nameParam } from '../params.js';
import type { Registry } from '../../store/index.js';
import { routeParams } from '../routes.js';
import type { PullThrough, Source } from '../pullthrough/cache.js';

export function blobHandlers(reg: Registry, pullThrough?: PullThrough) {
  const unknown = (name: string, d: Digest) => new RegistryError('BLOB_UNKNOWN', `blob ${digestString(d)} is not in ${name}`);

  /**
   * A blob a cached repository does not hold yet: HEAD asks the upstream; GET streams
   * the bytes as they arrive. True when answered; false when the store now holds it
   * (the upstream vouched for a copy another repository had) and serves it as usual.
   */
  async function throughCache(ctx: Context, name: string, src: Source, d: Digest): Promise<boolean> {
    const cache = pullThrough!;
    ctx.set({ 'Docker-Content-Digest': digestString(d), ETag: `"${digestString(d)}"` });
    ctx.type = 'application/octet-stream';
    if (ctx.method === 'HEAD') {
      const size = await cache.blobSize(name, src, d);
      if (size === undefined) throw unknown(name, d);
      ctx.status = 200;
      ctx.length = size;
      return true;
    }
    const got = await cache.blob(name, src, d);
    if (got === undefined) throw unknown(name, d);
    if (got === 'stored') return false;
    ctx.status = 200;
    if (got.size !== undefined) ctx.length = got.size;
    ctx.respond = false;
    ctx.res.writeHead(200, ctx.response.headers as Record<string, string>);
    // A fill that fails throws here: the transfer is cut short of its length, so the
    // client cannot take it for the blob.
    await pipeline(Readable.from(got.bytes), ctx.res).catch(() => ctx.res.destroy());
    return true;
  }

  return {
    async get(ctx: Context): Promise<void> {
      const { name: rawName, digest: rawDigest } = routeParams(ctx);
      const name = nameParam(rawName);
      const d = digestParam(rawDigest);
      let size = await reg.layers.servable(name, d);
      const src = size === undefined ? pullThrough?.source(name) : undefined;
      if (src && (await throughCache(ctx, name, src, d))) return;
      if (src) size = await reg.layers.servable(name, d);
      if (size === undefined) throw unknown(name, d);
      const digest = digestString(d);
      ctx.set({ 'Docker-Content-Digest': digest, ETag: `"${digest}"`, 'Accept-Ranges': 'bytes' });
      ctx.type = 'application/octet-stream';
      const range = byteRange(ctx.get('Range'), size);
      if (ctx.method === 'HEAD') {
        // A HEAD tells a pushing client "skip this upload": refresh the blob's and the
        // link's use time for GC. A blob a GC moved away meanwhile answers 404 instead.
        if (!(await reg.layers.touchServed(name, d))) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`);
        ctx.status = 200;
        ctx.length = size;
        return;
      }
      ctx.status = range ? 206 : 200;
      if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      const length = range ? range.end - range.start + 1 : size;
      const fd = reg.blobs.open(d);
      if (fd === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`); // a GC took it just now
      ctx.length = length;
      ctx.respond = false; // the bytes go out through reused buffers, not a stream Koa pipes
      await sendFile(ctx.res, fd, range?.start ?? 0, length, { around: reg.blobs.writtenAround(d) });
    },

    async delete(ctx: Context): Promise<void> {
      const { name: rawName, digest: rawDigest } = routeParams(ctx);
      const name = nameParam(rawName);
      const d = digestParam(rawDigest);
      if (!(await reg.repos.unlinkLayer(name, d))) {
        throw new RegistryError('BLOB_UNKNOWN', `blob ${digestString(d)} is not in ${name}`);
      }
      ctx.status = 202;
      ctx.body = ''; // an empty body, not Koa's status text
    },
  };
}
