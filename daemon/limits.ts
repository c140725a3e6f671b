// Limits that keep one client from taking the whole daemon: a cap on uploads
// carrying bytes at the same moment (--max-uploads). Timeouts live on the server
// (main.ts); the manifest body limit in handlers/manifests.ts.
import type Koa from 'koa';
import { RegistryError } from '../shared/errors.js';

const UPLOAD_SESSION = /^\/v2\/.+\/blobs\/uploads\/[^/]+$/;
const UPLOAD_START = /^\/v2\/.+\/blobs\/uploads\/?$/;

/** Requests that stream blob bytes: PATCH/PUT on an upload, and a monolithic POST ?digest=. */
function carriesUpload(ctx: Koa.Context): boolean {
  if (ctx.method === 'PATCH' || ctx.method === 'PUT') return UPLOAD_SESSION.test(ctx.path);
  return ctx.method === 'POST' && UPLOAD_START.test(ctx.path) && ctx.query.digest !== undefined;
}

export function uploadLimit(max: number): Koa.Middleware {
  let active = 0;
  return async (ctx, next) => {
    if (max <= 0 || !carriesUpload(ctx)) return next();
    if (active >= max) {
      throw new RegistryError('TOOMANYREQUESTS', `${active} uploads are in progress, the most this registry takes at once (--max-uploads ${max}); retry shortly`, {
        headers: { 'Retry-After': '1' },
      });
    }
    active++;
    try {
      await next();
    } finally {
      active--;
    }
  };
}
