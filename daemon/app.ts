// createApp(config): the Koa application over one root. It never listens; main.ts
// and the tests do.
import Koa from 'koa';
import { ERROR_CODES, RegistryError, UploadOffsetError, storageError } from '../shared/errors.js';
import { type AuthConfig, authMiddleware } from './auth/middleware.js';
import { readOnlyMiddleware } from './auth/readonly.js';
import { uploadRange } from './http.js';
import { uploadLimit } from './limits.js';
import type { NotifyConfig } from '../events/config.js';
import { Notifier } from './delivery/notifier.js';
import type { Logger } from 'pino';
import { Metrics } from './metrics.js';
import { createRouter } from './router.js';
import type { FsyncMode } from '../shared/durability.js';
import { type Registry, openRegistry } from '../store/index.js';
import { webHandlers } from './web/handlers.js';
import type { UpstreamConfig } from './pullthrough/config.js';
import { PullThrough } from './pullthrough/cache.js';

export interface AppConfig {
  root: string;
  logger: Logger;
  /** Who may do what (daemon/auth); none when absent. */
  auth?: AuthConfig;
  readOnly?: boolean;
  /** Most uploads streaming at once; 0 or absent for no cap. */
  maxUploads?: number;
  /** Notification endpoints (--notify); none: no events are queued. */
  notify?: NotifyConfig;
  /** --fsync: how many folders a write fsyncs (default: detected from the filesystem). */
  fsync?: FsyncMode;
  /** Repositories filled from upstream registries (--upstream, --upstreams). */
  upstreams?: UpstreamConfig[];
}

export function createApp(config: AppConfig): { app: Koa; registry: Registry; notifier?: Notifier; pullThrough?: PullThrough } {
  const registry = openRegistry(config.root, { fsync: config.fsync });
  const metrics = new Metrics(registry.paths, () => config.notify?.endpoints.map((e) => e.name) ?? []);
  const notifier = config.notify && new Notifier(registry.paths, config.notify, config.logger, metrics.deliveryHooks());
  // Read-only writes nothing, fetched content included: the cache then serves what it holds.
  const upstreams = config.readOnly ? config.upstreams?.map((u) => ({ ...u, offline: true })) : config.upstreams;
  const pullThrough = upstreams?.length ? new PullThrough(registry, upstreams, config.logger, metrics.pullThroughHooks()) : undefined;
  const router = createRouter(registry, { metrics: (ctx) => metrics.handler(ctx), web: webHandlers(registry) }, pullThrough);
  const app = new Koa();
  app.silent = true; // errors are logged by errorEnvelope, not Koa's default handler

  app.use(metrics.middleware());
  app.use(requestLog(config.logger));
  app.use(errorEnvelope(config.logger));
  if (pullThrough) app.use(mirrorNamespace(pullThrough));
  if (config.readOnly) app.use(readOnlyMiddleware());
  app.use(authMiddleware(config.auth ?? { mode: 'none' }, config.logger));
  app.use(uploadLimit(config.maxUploads ?? 0));
  if (notifier) app.use(notifier.middleware());
  app.use(router.routes());
  app.use(async (ctx) => {
    // Reached only when no route took the request: a known path with the wrong method, or no endpoint.
    const matched = (ctx.matched ?? []) as { methods: string[] }[];
    const allowed = new Set(matched.flatMap((layer) => layer.methods));
    if (allowed.size) {
      throw new RegistryError('UNSUPPORTED', `${ctx.method} is not supported on ${ctx.path}`, {
        headers: { Allow: [...allowed].join(', ') },
      });
    }
    throw new RegistryError('NOT_FOUND', `no endpoint at ${ctx.path}`);
  });
  return { app, registry, notifier, pullThrough };
}

/**
 * containerd asks a mirror for `/v2/library/alpine/…?ns=docker.io`: the repository is
 * `docker.io/library/alpine` here. Rewritten before auth, so every rule sees that name.
 */
function mirrorNamespace(pullThrough: PullThrough): Koa.Middleware {
  return async (ctx, next) => {
    const ns = ctx.query.ns;
    const rewritten = typeof ns === 'string' ? pullThrough.pathForNamespace(ctx.path, ns) : undefined;
    if (rewritten) ctx.path = rewritten;
    await next();
  };
}


function requestLog(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    ctx.res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({
        method: ctx.method,
        path: ctx.path,
        user: ctx.state.user, // the signed-in user's name only, never a credential
        status: ctx.status,
        bytes: ctx.response.length ?? 0,
        ms: Math.round(ms * 10) / 10,
      }, 'request');
    });
    await next();
  };
}

/** The outermost handler: every response carries the API version; every error becomes the OCI envelope. */
function errorEnvelope(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      await next();
    } catch (err) {
      const e = toRegistryError(err);
      if (e.status >= 500 || storageError(err)) logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = e.status;
      ctx.set(e.headers);
      if (e instanceof UploadOffsetError) ctx.set('Range', uploadRange(e.uploaded));
      ctx.body = e.envelope();
      if (!ctx.req.complete) ctx.set('Connection', 'close'); // an unread body: do not reuse the connection
    }
  };
}

function toRegistryError(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'ECONNRESET' || code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    // The client went away mid-body; nothing was stored, and no one is listening for the answer.
    return new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended early', { status: 400 });
  }
  const stored = storageError(err);
  if (stored) return stored;
  const status = (err as { status?: number }).status;
  if (status === 413) return new RegistryError('SIZE_INVALID', 'request body too large', { status });
  if (status && status >= 400 && status < 500) {
    const code = status === 404 ? 'NOT_FOUND' : status === 405 ? 'UNSUPPORTED' : 'UNKNOWN';
    return new RegistryError(code, (err as Error).message, { status });
  }
  return new RegistryError('UNKNOWN', ERROR_CODES.UNKNOWN.message, { status: 500 });
}
