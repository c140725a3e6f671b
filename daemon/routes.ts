// The route table: one line per endpoint. Repository names hold '/', so paths are
// RegExps over the raw (undecoded) path; handlers read `ctx.captures`.
import Router from '@koa/router';
import { blobHandlers } from './handlers/blobs.js';
import { listingHandlers } from './handlers/listing.js';
import { manifestHandlers } from './handlers/manifests.js';
import { referrerHandlers } from './handlers/referrers.js';
import { uploadHandlers } from './handlers/uploads.js';
import type { Registry } from './store/index.js';

const N = '(.+)'; // a repository name; validated by the handler
const ONE = '[^/]+';
const SEG = `(${ONE})`; // one path segment, captured

const path = (pattern: string) => new RegExp(`^/v2/${pattern}$`);

export function routes(reg: Registry): Router {
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
  return r;
}
