// The --notify file: which endpoints get which events. JSON or YAML (a JSON file is
// YAML too, so one parser reads both). Checked whole at start: a bad file stops
// the daemon with the field named, rather than dropping events later.
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../shared/options.js';
import { parse as parseYaml } from 'yaml';
import { isEndpointName } from '../shared/paths.js';

export const ACTIONS = ['push', 'pull', 'delete', 'mount', 'pull-through'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Endpoint {
  /** Names the endpoint's queue folder: `[a-z0-9][a-z0-9._-]*`. */
  name: string;
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** First retry delay; doubles each failed attempt up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Failed attempts before a batch moves to failed/; 0 retries forever (a dead endpoint loses nothing). */
  maxAttempts: number;
  /** Events per POST, oldest first. */
  batch: number;
  filters: { actions?: Action[]; repositories?: string[]; mediaTypes?: string[] };
}

export interface NotifyConfig {
  endpoints: Endpoint[];
}

export async function loadNotifyConfig(file: string): Promise<NotifyConfig> {
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${file}: not JSON or YAML: ${(err as Error).message}`);
  }
  return checkNotifyConfig(raw, file);
}

/** Validates a parsed config (the file's or the copy under the root) into defaults-filled endpoints. */
export function checkNotifyConfig(raw: unknown, where: string): NotifyConfig {
  const fail = (path: string, why: string): never => {
    throw new Error(`${where}: ${path}: ${why}`);
  };
  if (!isObject(raw) || !Array.isArray(raw.endpoints)) fail('endpoints', 'must be a list');
  const list = (raw as { endpoints: unknown[] }).endpoints;
  const seen = new Set<string>();
  const endpoints = list.map((e, i): Endpoint => {
    const at = `endpoints[${i}]`;
    if (!isObject(e)) return fail(at, 'must be a mapping');
    const name = e.name;
    if (typeof name !== 'string' || !isEndpointName(name)) fail(`${at}.name`, 'must match [a-z0-9][a-z0-9._-]* (it names a folder)');
    if (seen.has(name as string)) fail(`${at}.name`, `${name} is used twice`);
    seen.add(name as string);
    if (typeof e.url !== 'string' || !/^https?:\/\//.test(e.url)) fail(`${at}.url`, 'must be an http(s) URL');
    const headers: Record<string, string> = {};
    if (e.headers !== undefined) {
      if (!isObject(e.headers)) fail(`${at}.headers`, 'must be a mapping');
      for (const [k, v] of Object.entries(e.headers as Record<string, unknown>)) {
        // Distribution writes header values as lists; accept both.
        const value = Array.isArray(v) ? v.join(', ') : v;
        if (typeof value !== 'string') fail(`${at}.headers.${k}`, 'must be a string or a list of strings');
        headers[k] = value as string;
      }
    }
    const filters: Endpoint['filters'] = {};
    if (e.filters !== undefined) {
      if (!isObject(e.filters)) fail(`${at}.filters`, 'must be a mapping');
      const f = e.filters as Record<string, unknown>;
      for (const key of Object.keys(f)) {
        if (!['actions', 'repositories', 'mediaTypes'].includes(key)) fail(`${at}.filters.${key}`, 'unknown filter (actions, repositories, mediaTypes)');
      }
      if (f.actions !== undefined) {
        filters.actions = strings(f.actions, `${at}.filters.actions`, fail) as Action[];
        for (const a of filters.actions) if (!ACTIONS.includes(a)) fail(`${at}.filters.actions`, `unknown action ${a} (${ACTIONS.join(', ')})`);
      }
      if (f.repositories !== undefined) filters.repositories = strings(f.repositories, `${at}.filters.repositories`, fail);
      if (f.mediaTypes !== undefined) filters.mediaTypes = strings(f.mediaTypes, `${at}.filters.mediaTypes`, fail);
    }
    return {
      name: name as string,
      url: e.url as string,
      headers,
      timeoutMs: duration(e.timeout, '5s', `${at}.timeout`, fail),
      backoffMs: duration(e.backoff, '1s', `${at}.backoff`, fail),
      maxBackoffMs: duration(e.maxBackoff, '1m', `${at}.maxBackoff`, fail),
      maxAttempts: count(e.maxAttempts, 0, `${at}.maxAttempts`, fail),
      batch: Math.max(1, count(e.batch, 10, `${at}.batch`, fail)),
      filters,
    };
  });
  return { endpoints };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, path: string, fail: (p: string, w: string) => never): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return fail(path, 'must be a list of strings');
  return v as string[];
}

function duration(v: unknown, fallback: string, path: string, fail: (p: string, w: string) => never): number {
  const n = parseDuration(v ?? fallback);
  if (n === undefined) return fail(path, `not a duration: ${JSON.stringify(v)} (try 500ms, 5s, 1m)`);
  return n;
}

function count(v: unknown, fallback: number, path: string, fail: (p: string, w: string) => never): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(path, 'must be a whole number ≥ 0');
  return v;
}
