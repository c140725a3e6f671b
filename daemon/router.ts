// Builds the Koa router from the route table (routes.ts) and the handlers.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { RegistryError } from '../shared/errors.js';
import { blobHandlers } from './handlers/blobs.js';
import { listingHandlers } from './handlers/listing.js';
import { manifestHandlers } from './handlers/manifests.js';
import { referrerHandlers } from './handlers/referrers.js';
import { uploadHandlers } from './handlers/uploads.js';
import { type HandlerName, ROUTES } from './routes.js';
import type { Registry } from '../store/index.js';
import type { WebHandlers } from './web/handlers.js';
import type { PullThrough } from './pullthrough/cache.js';

/** What the daemon serves off the /v2/ tree: metrics and the read-only page. */
export interface SiteHandlers {
  metrics: Middleware;
  web: WebHandlers;
}

/** A cached repository is filled from its upstream only: pushing into one is refused (DELETE is not). */
function refusePushToCache(pullThrough: PullThrough, names: string[]): void {
  for (const name of names) {
    const src = pullThrough.source(name);
    if (src) throw new RegistryError('UNSUPPORTED', `${name} is a pull-through cache of ${src.config.url}: it is filled by pulls, not pushes; push to a name outside ${src.config.prefix}/`);
  }
}

export function createRouter(reg: Registry, site?: SiteHandlers, pullThrough?: PullThrough): Router {
  const blobs = blobHandlers(reg, pullThrough);
  const uploads = uploadHandlers(reg);
  const manifests = manifestHandlers(reg, pullThrough);
  const listing = listingHandlers(reg);
  const unserved: Middleware = () => undefined; // never registered: site routes without site handlers
  const handlers: Record<HandlerName, Middleware> = {
    base: (ctx) => void (ctx.body = {}),
    catalog: listing.catalog,
    tags: listing.tags,
    tagHistory: listing.tagHistory,
    revisions: listing.revisions,
    referrers: referrerHandlers(reg, pullThrough).list,
    uploadStart: uploads.start,
    uploadPatch: uploads.patch,
    uploadFinish: uploads.finish,
    uploadStatus: uploads.status,
    uploadCancel: uploads.cancel,
    blobGet: blobs.get,
    blobDelete: blobs.delete,
    manifestGet: manifests.get,
    manifestPut: manifests.put,
    manifestDelete: manifests.delete,
    metrics: site?.metrics ?? unserved,
    page: site?.web.page ?? unserved,
    pageApi: site?.web.api ?? unserved,
    pageAsset: site?.web.asset ?? unserved,
  };
  const r = new Router();
  for (const route of ROUTES) {
    if (route.site && !site) continue;
    const served = handlers[route.handler];
    // The route taken, for the metrics (metrics.routeOf), which would otherwise match
    // the table again, and its named groups for the handler (routes.routeParams).
    const handler: Middleware = (ctx, next) => {
      ctx.state.route = route.handler;
      ctx.state.params = { ...route.path.exec(ctx.path)?.groups };
      if (pullThrough && route.need === 'push') refusePushToCache(pullThrough, route.names?.(ctx.state.params) ?? [ctx.state.params.name ?? '']);
      return served(ctx, next);
    };
    // register() takes no RegExp paths; the verb methods do (and a GET answers HEAD too).
    if (route.method === 'GET') r.get(route.path, handler);
    else if (route.method === 'POST') r.post(route.path, handler);
    else if (route.method === 'PATCH') r.patch(route.path, handler);
    else if (route.method === 'PUT') r.put(route.path, handler);
    else r.delete(route.path, handler);
  }
  return r;
}
