// Which repositories are cached from which upstream: `--upstream PREFIX=URL`
// (repeatable) and the `--upstreams` file (JSON or YAML). Credentials come from a
// file or an environment variable, never from the command line, where every user
// of the machine can read them. Checked whole at start: a bad entry stops the daemon
// with the field named.
import { readFileSync } from 'node:fs';
import { parseDuration } from '../../shared/options.js';
import { parse as parseYaml } from 'yaml';
import { isName } from '../../shared/reference.js';

export interface UpstreamConfig {
  /** Repositories named `<prefix>/…` are cached from this upstream. */
  prefix: string;
  url: string;
  /** How long a tag checked upstream is served without asking again. */
  ttlMs: number;
  /** Never ask the upstream: serve what the cache holds. */
  offline: boolean;
  /** A one-component name is `library/<name>` upstream, as on Docker Hub. */
  library: boolean;
  /** `USER:PASSWORD`, read from `passwordFile` or `passwordEnv`. */
  creds?: string;
  /** PEM certificates to trust for this upstream (`ca`, a file). */
  ca?: Buffer;
  /** How long connecting and each wait for the upstream may take. */
  timeoutMs: number;
}

const DEFAULT_TTL = '5m';
const DEFAULT_TIMEOUT = '15s';
const FIELDS = new Set(['prefix', 'url', 'ttl', 'offline', 'library', 'username', 'passwordFile', 'passwordEnv', 'ca', 'timeout']);

/** Docker Hub's registry answers under these hosts; its one-component names live under `library/`. */
const DOCKER_HUB = /^https?:\/\/(registry-1\.docker\.io|index\.docker\.io|docker\.io)(:\d+)?\/?$/;

/** The upstreams of `--upstream PREFIX=URL` values and an `--upstreams` file, prefixes unique. */
export function loadUpstreams(flags: string[] = [], file?: string, env: NodeJS.ProcessEnv = process.env): UpstreamConfig[] {
  const out = flags.map((flag) => {
    const eq = flag.indexOf('=');
    if (eq < 1) throw new Error(`--upstream must be PREFIX=URL, not ${JSON.stringify(flag)}`);
    return check({ prefix: flag.slice(0, eq), url: flag.slice(eq + 1) }, `--upstream ${flag}`, env);
  });
  if (file) out.push(...readUpstreamsFile(file, env));
  const seen = new Set<string>();
  for (const u of out) {
    if (seen.has(u.prefix)) throw new Error(`upstream prefix ${u.prefix} is given twice`);
    for (const other of seen) {
      if (u.prefix.startsWith(`${other}/`) || other.startsWith(`${u.prefix}/`)) throw new Error(`upstream prefixes ${other} and ${u.prefix} overlap`);
    }
    seen.add(u.prefix);
  }
  return out;
}

function readUpstreamsFile(file: string, env: NodeJS.ProcessEnv): UpstreamConfig[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not readable JSON or YAML: ${(err as Error).message}`);
  }
  const list = Array.isArray(raw) ? raw : (raw as { upstreams?: unknown } | null)?.upstreams;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a list of upstreams (or {upstreams: [...]})`);
  return list.map((entry, i) => check(entry, `${file}: upstreams[${i}]`, env));
}

function check(raw: unknown, where: string, env: NodeJS.ProcessEnv): UpstreamConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where}: expected an object`);
  const e = raw as Record<string, unknown>;
  for (const key of Object.keys(e)) if (!FIELDS.has(key)) throw new Error(`${where}: unknown field ${key}`);
  const prefix = String(e.prefix ?? '').replace(/\/+$/, '');
  if (!isName(prefix)) throw new Error(`${where}: prefix ${JSON.stringify(e.prefix)} is not a repository name (e.g. docker.io)`);
  const url = String(e.url ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+(\/.*)?$/.test(url)) throw new Error(`${where}: url ${JSON.stringify(e.url)} is not an http(s) URL`);
  const bool = (key: string, fallback: boolean): boolean => {
    if (e[key] === undefined) return fallback;
    if (typeof e[key] !== 'boolean') throw new Error(`${where}: ${key} must be true or false`);
    return e[key] as boolean;
  };
  return {
    prefix,
    url,
    ttlMs: duration(e.ttl ?? DEFAULT_TTL, `${where}: ttl`),
    offline: bool('offline', false),
    library: bool('library', DOCKER_HUB.test(url)),
    creds: credentials(e, where, env),
    ca: e.ca === undefined ? undefined : readFileSync(String(e.ca)),
    timeoutMs: duration(e.timeout ?? DEFAULT_TIMEOUT, `${where}: timeout`),
  };
}

function credentials(e: Record<string, unknown>, where: string, env: NodeJS.ProcessEnv): string | undefined {
  if (e.username === undefined) {
    if (e.passwordFile !== undefined || e.passwordEnv !== undefined) throw new Error(`${where}: a password needs a username`);
    return undefined;
  }
  let password: string | undefined;
  if (e.passwordFile !== undefined) password = readFileSync(String(e.passwordFile), 'utf8').replace(/\r?\n$/, '');
  else if (e.passwordEnv !== undefined) {
    password = env[String(e.passwordEnv)];
    if (password === undefined) throw new Error(`${where}: environment variable ${String(e.passwordEnv)} is not set`);
  } else throw new Error(`${where}: username ${String(e.username)} needs passwordFile or passwordEnv (never a password on the command line)`);
  return `${String(e.username)}:${password}`;
}

function duration(v: unknown, where: string): number {
  const n = typeof v === 'string' && /[a-z]$/i.test(v.trim()) ? parseDuration(v) : undefined; // a bare number has no unit: refused
  if (n === undefined) throw new Error(`${where}: ${JSON.stringify(v)} is not a duration like 30s or 5m`);
  return n;
}
