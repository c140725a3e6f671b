// The route table: one line per endpoint. Repository names hold '/', so paths are
// RegExps over the raw (undecoded) path; handlers read `ctx.captures`.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { blobHandlers } from './handlers/blobs.js';
import { listingHandlers } from './handlers/listing.js';
import { manifestHandlers } from './handlers/manifests.js';
import { referrerHandlers } from './handlers/referrers.js';
import { uploadHandlers } from './handlers/uploads.js';
import type { Registry } from './store/index.js';
import type { WebHandlers } from './web/handlers.js';

/** What the daemon serves off the /v2/ tree: metrics and the read-only page. */
export interface SiteHandlers {
  metrics: Middleware;
  web: WebHandlers;
}

const N = '(.+)'; // a repository name; validated by the handler
const ONE = '[^/]+';
const SEG = `(${ONE})`; // one path segment, captured

const path = (pattern: string) => new RegExp(`^/v2/${pattern}$`);

export function routes(reg: Registry, site?: SiteHandlers): Router {
  const blobs = blobHandlers(reg);
  const uploads = uploadHandlers(reg);
  const manifests = manifestHandlers(reg);
  const listing = listingHandlers(reg);
  const referrers = referrerHandlers(reg);

  const r = new Router();
  r.get(/^\/v2\/?$/, (ctx) => void (ctx.body = {}));
  r.get(path('_catalog/?'), listing.catalog);
  r.get(path(`${N}/tags/list/?`), listing.tags);
  r.get(path(`${N}/_oci/tag-history/${SEG}`), listing.tagHistory);
  r.get(path(`${N}/_cairn/revisions/?`), listing.revisions);
  r.get(path(`${N}/referrers/${SEG}`), referrers.list);

  r.post(path(`${N}/blobs/uploads/?`), uploads.start);
  r.patch(path(`${N}/blobs/uploads/${SEG}`), uploads.patch);
  r.put(path(`${N}/blobs/uploads/${SEG}`), uploads.finish);
  r.get(path(`${N}/blobs/uploads/${SEG}`), uploads.status);
  r.delete(path(`${N}/blobs/uploads/${SEG}`), uploads.cancel);

  r.get(path(`${N}/blobs/${SEG}`), blobs.get); // HEAD too
  r.delete(path(`${N}/blobs/${SEG}`), blobs.delete);

  // <reference> or <tag>/<digest>: the handler splits the path.
  const MANIFEST = `(.+/manifests/${ONE}(?:/${ONE})?)`;
  r.get(path(MANIFEST), manifests.get); // HEAD too
  r.put(path(MANIFEST), manifests.put);
  r.delete(path(MANIFEST), manifests.delete);

  // Off the /v2/ tree. (Behind auth, once there is auth: see README "Metrics".)
  if (site) {
    r.get('/metrics', site.metrics);
    r.get(/^\/$/, site.web.page);
    r.get(/^\/_ui\/api\/(repositories|tags|history|revision)$/, site.web.api);
    r.get(/^\/_ui\/(app\.js|style\.css)$/, site.web.asset);
  }
  return r;
}
