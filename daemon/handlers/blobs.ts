// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
import type { Context } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { type Digest, digestString } from '../../shared/reference.js';
import { byteRange } from '../http.js';
import { sendFile } from '../sendfile.js';
import { digestParam, nameParam } from '../params.js';
import type { Registry } from '../../store/index.js';
import { routeParams } from '../routes.js';

export function blobHandlers(reg: Registry) {
  async function servable(name: string, d: Digest): Promise<number> {
    const size = await reg.layers.servable(name, d);
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${digestString(d)} is not in ${name}`);
    return size;
  }

  return {
    async get(ctx: Context): Promise<void> {
      const { name: rawName, digest: rawDigest } = routeParams(ctx);
      const name = nameParam(rawName);
      const d = digestParam(rawDigest);
      const size = await servable(name, d);
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
      await sendFile(ctx.res, fd, range?.start ?? 0, length);
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
