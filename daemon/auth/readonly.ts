// --read-only: every request that would change the registry answers 405 UNSUPPORTED
// with the reason; reads (and the token endpoint, and `cairn gc`) still work.
import type Koa from 'koa';
import { RegistryError } from '../../shared/errors.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readOnlyMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path.startsWith('/v2/') && !READS.has(ctx.method)) {
      throw new RegistryError(
        'UNSUPPORTED',
        `this registry is read-only (started with --read-only): ${ctx.method} would change it; pulls still work`,
        { headers: { Allow: 'GET, HEAD' } },
      );
    }
    await next();
  };
}
