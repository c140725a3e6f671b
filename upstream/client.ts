// A client for another registry (OCI Distribution API) with the auth flows public
// registries use: anonymous or credentialed Bearer tokens from the realm a 401
// names, or Basic; tokens are kept per scope until they expire. `cairn mirror` and
// the pull-through cache both speak to upstreams through it. Requests go through
// undici's own Agent, which takes a CA per upstream and bounds how long an
// unreachable upstream can hold a request, and its `request`, whose body is a Node
// stream: a blob passes through without the web-stream layer of fetch.
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import { digestOf, sameDigest } from '../shared/digest.js';
import { MAX_MANIFEST_BYTES, type Manifest, MediaTypes, isSchema1, parseManifest } from '../shared/manifest.js';
import { type Digest, digestString, isDigest, parseDigest } from '../shared/reference.js';

export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
  MediaTypes.schema1Signed,
  MediaTypes.schema1,
].join(', ');

export class UpstreamError extends Error {
  constructor(
    message: string,
    /** The upstream's status when it answered with an error; undefined for a transport failure or bad bytes. */
    readonly status?: number,
    /** The upstream answered, with bytes that are not what they claim (a wrong digest, too big). */
    readonly lying = false,
  ) {
    super(message);
  }
}

/** A manifest as an upstream served it, checked against the digest asked for or named. */
export interface FetchedManifest {
  body: Buffer;
  /** The body parsed (with its Content-Type). */
  manifest: Manifest;
  /** The digest it must be stored under: the one asked for, else the one the upstream named. */
  digest: Digest | undefined;
}

export interface UpstreamOptions {
  /** `USER:PASSWORD`, for Basic or for the token request. */
  creds?: string;
  /** PEM certificates to trust instead of the system's (an upstream with its own CA). */
  ca?: string | Buffer;
  /** How long connecting and the response's headers may take (default 15 s). */
  timeoutMs?: number;
  /** How the option is spelled to the user, for error messages (`--creds`). */
  credsHint?: string;
}

/** An upstream's answer: status, headers, and the body as a Node stream that must be read or discarded. */
export class UpstreamResponse {
  constructor(
    readonly status: number,
    private readonly raw: Record<string, string | string[] | undefined>,
    readonly body: Readable,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  readonly headers = {
    get: (name: string): string | null => {
      const v = this.raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };

  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async json(): Promise<unknown> {
    return JSON.parse((await this.bytes()).toString('utf8'));
  }

  /**
   * Drops the body unread. undici answers a destroyed body with an 'error' event (the
   * request aborted), which nobody else listens for: it is taken here, or it would
   * bring the process down.
   */
  async discard(): Promise<void> {
    this.body.on('error', () => undefined);
    this.body.destroy();
  }
}

async function send(url: string | URL, method: 'GET' | 'HEAD', headers: Record<string, string>, dispatcher: Dispatcher, signal?: AbortSignal): Promise<UpstreamResponse> {
  const res = await request(url, { method, headers, dispatcher, signal });
  if (method === 'HEAD') await res.body.dump(); // nothing to read: free the connection now
  return new UpstreamResponse(res.statusCode, res.headers, res.body);
}

/** A token is asked again this long before the upstream said it expires. */
const TOKEN_MARGIN_MS = 5_000;
/** A token whose answer gives no lifetime lives this long (the token spec's default). */
const TOKEN_DEFAULT_S = 60;
/** Scopes whose tokens are kept; past it the oldest goes (a cache of many repositories). */
const MAX_TOKENS = 1000;

export class Upstream {
  readonly base: string;
  private readonly basic: string | undefined;
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private useBasic = false;
  private readonly dispatcher: Dispatcher;
  private readonly credsHint: string;

  constructor(url: string, opts: UpstreamOptions = {}) {
    this.base = url.replace(/\/+$/, '');
    if (!/^https?:\/\//.test(this.base)) throw new UpstreamError(`an upstream must be an http(s) URL, not ${JSON.stringify(url)}`);
    this.credsHint = opts.credsHint ?? 'credentials';
    if (opts.creds !== undefined && !opts.creds.includes(':')) throw new UpstreamError(`${this.credsHint} must be USER:PASSWORD`);
    this.basic = opts.creds === undefined ? undefined : `Basic ${Buffer.from(opts.creds).toString('base64')}`;
    const timeout = opts.timeoutMs ?? 15_000;
    this.dispatcher = new Agent({ connect: { timeout, ...(opts.ca ? { ca: opts.ca } : {}) }, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** A GET under /v2/ for repository `name`; answers 401 by getting a token (or using Basic) and trying once more. */
  async get(name: string, path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<UpstreamResponse> {
    return this.request('GET', name, path, headers, signal);
  }

  async head(name: string, path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<UpstreamResponse> {
    return this.request('HEAD', name, path, headers, signal);
  }

  /**
   * GETs `name`'s manifest `reference` (a tag or a digest) and checks that its bytes
   * hash to the digest asked for, else to the one the upstream names (a schema1 body is
   * checked by the store, whose digest is its payload's). Throws an UpstreamError with
   * the status for an error answer, marked `lying` for bytes that are not what they claim.
   */
  async manifest(name: string, reference: string): Promise<FetchedManifest> {
    const where = `${name}:${reference}`;
    const res = await this.get(name, `${name}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    if (!res.ok) {
      await res.discard();
      throw new UpstreamError(`${where}: manifest answered ${res.status}`, res.status);
    }
    const body = await res.bytes();
    if (body.length > MAX_MANIFEST_BYTES) throw new UpstreamError(`${where}: manifest over ${MAX_MANIFEST_BYTES} bytes`, undefined, true);
    const header = res.headers.get('docker-content-digest');
    const digest = isDigest(reference) ? parseDigest(reference) : header && isDigest(header) ? parseDigest(header) : undefined;
    let manifest: Manifest;
    try {
      manifest = parseManifest(body, (res.headers.get('content-type') ?? '').split(';')[0]!.trim());
    } catch (err) {
      throw new UpstreamError(`${where}: ${(err as Error).message}`, undefined, true);
    }
    if (digest && !isSchema1(manifest.mediaType)) {
      const actual = digestOf(body, digest.algorithm);
      if (!sameDigest(digest, actual)) throw new UpstreamError(`${where}: manifest bytes hash to ${digestString(actual)}, not ${digestString(digest)}`, undefined, true);
    }
    return { body, manifest, digest };
  }

  private async request(method: 'GET' | 'HEAD', name: string, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<UpstreamResponse> {
    const scope = `repository:${name}:pull`;
    const url = `${this.base}/v2/${path}`;
    const again = () => send(url, method, { ...headers, ...this.auth(scope) }, this.dispatcher, signal);
    let res = await again();
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate') ?? '';
    await res.discard();
    const hint = this.basic ? '' : ` (give ${this.credsHint})`;
    if (/^bearer\s/i.test(challenge)) await this.fetchToken(challenge, scope, signal);
    else if (/^basic\s/i.test(challenge) && this.basic) this.useBasic = true;
    else throw new UpstreamError(`${url}: 401 Unauthorized${hint}`);
    res = await again();
    if (res.status === 401) {
      await res.discard();
      throw new UpstreamError(`${url}: 401 Unauthorized after authenticating${hint}`);
    }
    return res;
  }

  /** Stops keeping connections open (a test's or a command's end). */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private auth(scope: string): Record<string, string> {
    const token = this.tokens.get(scope);
    if (token && token.expires > Date.now()) return { Authorization: `Bearer ${token.token}` };
    if (token) this.tokens.delete(scope);
    if (this.useBasic && this.basic) return { Authorization: this.basic };
    return {};
  }

  /** The token flow: GET realm?service=…&scope=… (with Basic creds when given), answer {token} or {access_token}. */
  private async fetchToken(challenge: string, scope: string, signal?: AbortSignal): Promise<void> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) throw new UpstreamError(`the upstream's Bearer challenge names no realm: ${challenge}`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', scope);
    const res = await send(url, 'GET', this.basic ? { Authorization: this.basic } : {}, this.dispatcher, signal);
    if (!res.ok) {
      await res.discard();
      throw new UpstreamError(`token request to ${url.origin}${url.pathname}: ${res.status}`);
    }
    const json = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = json.token ?? json.access_token;
    if (!token) throw new UpstreamError(`token response from ${url.origin} holds no token`);
    const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : TOKEN_DEFAULT_S;
    this.tokens.delete(scope);
    this.tokens.set(scope, { token, expires: Date.now() + lifetime * 1000 - TOKEN_MARGIN_MS });
    for (const [oldest] of this.tokens) {
      if (this.tokens.size <= MAX_TOKENS) break;
      this.tokens.delete(oldest);
    }
  }
}
