// Turning raw URL captures and query strings into validated values. Captures
// arrive undecoded: a name is checked as sent, so `a%2Fb` is no name at all;
// only the ':' of a digest may come percent-encoded.
import { RegistryError } from '../shared/errors.js';
import { type Digest, isUploadId, parseDigest, parseName, parseTag } from '../shared/reference.js';

export function nameParam(raw: string | undefined): string {
  return parseName(raw ?? '');
}

export function digestParam(raw: string | undefined): Digest {
  return parseDigest((raw ?? '').replace(/%3a/gi, ':'));
}

export function tagParam(raw: string | undefined): string {
  return parseTag(raw ?? '');
}

export function uploadIdParam(raw: string | undefined): string {
  if (raw === undefined || !isUploadId(raw)) {
    throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${JSON.stringify(raw ?? '')} is not in progress`);
  }
  return raw;
}

/** Every value of a query parameter that may repeat (`?tag=a&tag=b`). */
export function queryAll(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function queryOne(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface Page {
  n?: number;
  last?: string;
}

/** The most entries one page gives; an `n` above it gets this many (and a Link to the rest). */
export const MAX_PAGE = 1000;
/** A page's size where the answer could be unbounded and the client named none. */
export const DEFAULT_PAGE = 100;

/** `n` and `last`; `fallback` is the page size when `n` is absent (none: the whole list). */
export function pageParams(query: Record<string, string | string[] | undefined>, fallback?: number): Page {
  const n = queryOne(query.n);
  const last = queryOne(query.last);
  if (n !== undefined && !/^\d+$/.test(n)) {
    throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer, not ${JSON.stringify(n)}`, { status: 400 });
  }
  return { n: n === undefined ? fallback : Math.min(Number(n), MAX_PAGE), last: last || undefined };
}

/**
 * One page of a list: the items after `last`, at most `n` of them; `next` is the
 * `last` value for the following page when there is one. A list sorted by `key`
 * is entered by comparison (so `last` need not be present); any other list by
 * position of the item whose key equals `last`.
 */
export function paginate<T>(items: readonly T[], key: (item: T) => string, page: Page, sorted = true): { items: T[]; next?: string } {
  let start = 0;
  if (page.last !== undefined) {
    start = sorted ? firstAfter(items, key, page.last) : items.findIndex((i) => key(i) === page.last) + 1;
    if (!sorted && start === 0) return { items: [] };
  }
  if (page.n === undefined || items.length - start <= page.n) return { items: items.slice(start) };
  const taken = items.slice(start, start + page.n);
  return { items: taken, next: taken.length ? key(taken.at(-1)!) : undefined };
}

/** Index of the first item whose key sorts after `last` (binary search: a walk of 5,000 tags asks 50 times). */
function firstAfter<T>(items: readonly T[], key: (item: T) => string, last: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(items[mid]!) > last) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The RFC 5988 `Link` header value that points at the next page. */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

/**
 * The ways `<path>/manifests/<rest>` reads: `<name>/manifests/<reference>`, and
 * `<name>/manifests/<tag>/<digest>` (the tag's history). Only a tag named
 * `manifests` makes one path read both ways; nothing here is validated yet.
 */
export function manifestReadings(path: string): ({ name: string; ref: string } | { name: string; tag: string; digest: string })[] {
  const out: ({ name: string; ref: string } | { name: string; tag: string; digest: string })[] = [];
  const history = /^(.+)\/manifests\/([^/]+)\/([^/]+)$/.exec(path);
  if (history) out.push({ name: history[1]!, tag: history[2]!, digest: history[3]! });
  const plain = /^(.+)\/manifests\/([^/]+)$/.exec(path);
  if (plain) out.push({ name: plain[1]!, ref: plain[2]! });
  return out;
}
