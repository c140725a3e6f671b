// What a request needs: the repository (or repositories) it touches and the action
// on each. The patterns mirror routes.ts in its order, with the same greedy `(.+)`
// for names, so the name checked here is the name the handler will use.
// GET/HEAD → pull; POST/PATCH/PUT → push; DELETE → delete; everything under
// blobs/uploads/ is push (status and cancel are part of pushing).

export type Action = 'pull' | 'push' | 'delete';
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

export type Need =
  | { kind: 'base' } // GET /v2/: any authenticated caller
  | { kind: 'catalog' } // GET /v2/_catalog: anyone authenticated; the list is filtered
  | { kind: 'repository'; names: string[]; action: Action }
  | { kind: 'other' }; // no endpoint: the router answers 404/405 once the caller is authenticated

const ONE = '[^/]+';
const v2 = (pattern: string) => new RegExp(`^/v2/${pattern}$`);

interface Row {
  methods: string[];
  re: RegExp;
  action: Action | ((method: string) => Action);
}

const byMethod = (method: string): Action => (method === 'DELETE' ? 'delete' : method === 'GET' || method === 'HEAD' ? 'pull' : 'push');

// In routes.ts order.
const ROWS: Row[] = [
  { methods: ['GET', 'HEAD'], re: v2('(.+)/tags/list/?'), action: 'pull' },
  { methods: ['GET', 'HEAD'], re: v2(`(.+)/_oci/tag-history/${ONE}`), action: 'pull' },
  { methods: ['GET', 'HEAD'], re: v2('(.+)/_cairn/revisions/?'), action: 'pull' },
  { methods: ['GET', 'HEAD'], re: v2(`(.+)/referrers/${ONE}`), action: 'pull' },
  { methods: ['POST'], re: v2('(.+)/blobs/uploads/?'), action: 'push' },
  { methods: ['PATCH', 'PUT', 'GET', 'HEAD', 'DELETE'], re: v2(`(.+)/blobs/uploads/${ONE}`), action: 'push' },
  { methods: ['GET', 'HEAD', 'DELETE'], re: v2(`(.+)/blobs/${ONE}`), action: byMethod },
];

const MANIFEST = v2(`(.+/manifests/${ONE}(?:/${ONE})?)`);

/** The access a request needs, from its method and raw path. */
export function needOf(method: string, rawPath: string): Need {
  if (/^\/v2\/?$/.test(rawPath)) return method === 'GET' || method === 'HEAD' ? { kind: 'base' } : { kind: 'other' };
  if (/^\/v2\/_catalog\/?$/.test(rawPath)) return method === 'GET' || method === 'HEAD' ? { kind: 'catalog' } : { kind: 'other' };
  for (const row of ROWS) {
    if (!row.methods.includes(method)) continue;
    const m = row.re.exec(rawPath);
    if (m) return { kind: 'repository', names: [m[1]!], action: typeof row.action === 'string' ? row.action : row.action(method) };
  }
  if (['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) {
    const m = MANIFEST.exec(rawPath);
    if (m) return { kind: 'repository', names: manifestNames(m[1]!), action: byMethod(method) };
  }
  return { kind: 'other' };
}

/**
 * `<name>/manifests/<ref>` or `<name>/manifests/<tag>/<digest>`. A path that reads
 * both ways (a tag named `manifests`) names two repositories; the handler picks one
 * by what exists, so the caller needs the action on both.
 */
function manifestNames(path: string): string[] {
  const names = new Set<string>();
  const plain = /^(.+)\/manifests\/[^/]+$/.exec(path);
  const history = /^(.+)\/manifests\/[^/]+\/[^/]+$/.exec(path);
  if (plain) names.add(plain[1]!);
  if (history) names.add(history[1]!);
  return [...names];
}

/** One entry of a token's `access` claim (Docker token format). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses token request scopes: `repository:NAME:pull,push`, `registry:catalog:*`,
 * several per parameter when space-separated. A resource class (`repository(plugin)`)
 * is ignored. Malformed scopes are dropped: they can only ask for less.
 */
export function parseScopes(values: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const scope of values.flatMap((v) => v.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || first === last) continue;
    const type = scope.slice(0, first).replace(/\(.*\)$/, '');
    const name = scope.slice(first + 1, last);
    const actions = scope.slice(last + 1).split(',').filter(Boolean);
    out.push({ type, name, actions });
  }
  return out;
}

/** The scope string a challenge names for what the request needed. */
export function scopeOf(need: Need): string | undefined {
  if (need.kind === 'catalog') return 'registry:catalog:*';
  if (need.kind !== 'repository') return undefined;
  const actions = need.action === 'push' ? 'pull,push' : need.action;
  return need.names.map((n) => `repository:${n}:${actions}`).join(' ');
}
