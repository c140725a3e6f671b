// What a request needs: the repository (or repositories) it touches and the action
// on each, read off the route table in routes.ts, so the name checked here is the
// name the handler will use.
import { isName } from '../../shared/reference.js';
import { matchRoute } from '../routes.js';

export type Action = 'pull' | 'push' | 'delete';
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

export type Need =
  | { kind: 'base' } // any authenticated caller: GET /v2/
  | { kind: 'user' } // a signed-in user: /metrics, the page and its JSON
  | { kind: 'catalog' } // GET /v2/_catalog: anyone authenticated; the list is filtered
  | { kind: 'repository'; names: string[]; action: Action }
  | { kind: 'invalid'; name: string } // a repository route whose name is outside the grammar: 400 before anything else
  | { kind: 'other' }; // no endpoint: the router answers 404/405 once the caller is authenticated

/** The access a request needs, from its method and raw path. */
export function needOf(method: string, rawPath: string): Need {
  const match = matchRoute(method, rawPath);
  if (!match) return { kind: 'other' };
  const { route, params } = match;
  if (route.need === 'base' || route.need === 'user' || route.need === 'catalog') return { kind: route.need };
  // Only names in the grammar are checked, and only they reach a challenge header: a
  // handler uses no other (a path that reads two ways may have one invalid reading).
  const named = route.names?.(params) ?? [params.name ?? ''];
  const names = named.filter(isName);
  if (!names.length) return { kind: 'invalid', name: named[0] ?? '' };
  return { kind: 'repository', names, action: route.need };
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
