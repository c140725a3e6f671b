// The route table: one line per endpoint, with what each needs from auth. Repository
// names hold '/', so paths are RegExps over the raw (undecoded) path, with named
// groups; handlers read them by name (`routeParams`), never by position. The router
// (router.ts) and the auth gate (auth/scope.ts) both read this table.
import { manifestReadings } from './params.js';

/**
 * What a route needs: `base` any signed-in caller (the API check; in token mode any
 * valid token); `user` a signed-in user (metrics, the page and its JSON, which show
 * only what that user may pull); `catalog` a signed-in caller, the list filtered; an
 * action on the repository it names.
 */
export type RouteNeed = 'base' | 'user' | 'catalog' | 'pull' | 'push' | 'delete';

export type HandlerName =
  | 'base' | 'catalog' | 'tags' | 'tagHistory' | 'revisions' | 'referrers'
  | 'uploadStart' | 'uploadPatch' | 'uploadFinish' | 'uploadStatus' | 'uploadCancel'
  | 'blobGet' | 'blobDelete' | 'manifestGet' | 'manifestPut' | 'manifestDelete'
  | 'metrics' | 'page' | 'pageApi' | 'pageAsset';

export interface Route {
  /** GET routes answer HEAD too. */
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: RegExp;
  need: RouteNeed;
  handler: HandlerName;
  /** The repositories a match names (default: the `name` group). */
  names?: (params: RouteParams) => string[];
  /** Served only with the site handlers (off the /v2/ tree). */
  site?: boolean;
}

/** What a route's path captures, each unvalidated (the handler checks it). */
export interface RouteParams {
  /** A repository name. */
  name?: string;
  /** `<name>/manifests/<reference>` or `<name>/manifests/<tag>/<digest>`: the handler splits it (params.ts). */
  manifest?: string;
  tag?: string;
  digest?: string;
  upload?: string;
  /** One of the page's JSON lists. */
  list?: string;
  asset?: string;
}

const N = '(?<name>.+)'; // a repository name
const ONE = '[^/]+';
const seg = (group: keyof RouteParams) => `(?<${group}>${ONE})`; // one path segment
const MANIFEST = `(?<manifest>.+/manifests/${ONE}(?:/${ONE})?)`;

const v2 = (pattern: string) => new RegExp(`^/v2/${pattern}$`);
/** A manifest path that reads two ways (a tag named `manifests`) names both repositories. */
const manifestNames = (p: RouteParams) => manifestReadings(p.manifest ?? '').map((r) => r.name);

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: /^\/v2\/?$/, need: 'base', handler: 'base' },
  { method: 'GET', path: v2('_catalog/?'), need: 'catalog', handler: 'catalog' },
  { method: 'GET', path: v2(`${N}/tags/list/?`), need: 'pull', handler: 'tags' },
  { method: 'GET', path: v2(`${N}/_oci/tag-history/${seg('tag')}`), need: 'pull', handler: 'tagHistory' },
  { method: 'GET', path: v2(`${N}/_cairn/revisions/?`), need: 'pull', handler: 'revisions' },
  { method: 'GET', path: v2(`${N}/referrers/${seg('digest')}`), need: 'pull', handler: 'referrers' },

  { method: 'POST', path: v2(`${N}/blobs/uploads/?`), need: 'push', handler: 'uploadStart' },
  { method: 'PATCH', path: v2(`${N}/blobs/uploads/${seg('upload')}`), need: 'push', handler: 'uploadPatch' },
  { method: 'PUT', path: v2(`${N}/blobs/uploads/${seg('upload')}`), need: 'push', handler: 'uploadFinish' },
  { method: 'GET', path: v2(`${N}/blobs/uploads/${seg('upload')}`), need: 'push', handler: 'uploadStatus' },
  { method: 'DELETE', path: v2(`${N}/blobs/uploads/${seg('upload')}`), need: 'push', handler: 'uploadCancel' },

  { method: 'GET', path: v2(`${N}/blobs/${seg('digest')}`), need: 'pull', handler: 'blobGet' },
  { method: 'DELETE', path: v2(`${N}/blobs/${seg('digest')}`), need: 'delete', handler: 'blobDelete' },

  { method: 'GET', path: v2(MANIFEST), need: 'pull', handler: 'manifestGet', names: manifestNames },
  { method: 'PUT', path: v2(MANIFEST), need: 'push', handler: 'manifestPut', names: manifestNames },
  { method: 'DELETE', path: v2(MANIFEST), need: 'delete', handler: 'manifestDelete', names: manifestNames },

  { method: 'GET', path: /^\/metrics$/, need: 'user', handler: 'metrics', site: true },
  { method: 'GET', path: /^\/$/, need: 'user', handler: 'page', site: true },
  { method: 'GET', path: /^\/_ui\/api\/(?<list>repositories|tags|history|revision)$/, need: 'user', handler: 'pageApi', site: true },
  { method: 'GET', path: /^\/_ui\/(?<asset>app\.js|style\.css)$/, need: 'user', handler: 'pageAsset', site: true },
];

/**
 * The route a request takes: by method and raw path, or by path alone when `method`
 * is undefined (the first route whose path matches, whatever its method).
 */
export function matchRoute(method: string | undefined, rawPath: string): { route: Route; params: RouteParams } | undefined {
  const asRouted = method === 'HEAD' ? 'GET' : method;
  for (const route of ROUTES) {
    if (asRouted !== undefined && route.method !== asRouted) continue;
    const m = route.path.exec(rawPath);
    if (m) return { route, params: { ...m.groups } };
  }
  return undefined;
}

/** The named groups of the route the router matched for this request (router.ts sets them). */
export function routeParams(ctx: { state: { params?: RouteParams } }): RouteParams {
  return ctx.state.params ?? {};
}
