// A small client for an upstream registry (OCI Distribution API) with the auth
// flows public registries use: anonymous (or --creds) Bearer tokens from the realm
// a 401 names, or Basic. Tokens are cached per scope.
import { MediaTypes } from '../shared/manifest.js';

export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
  MediaTypes.schema1Signed,
  MediaTypes.schema1,
].join(', ');

export class UpstreamError extends Error {}

export class Upstream {
  readonly base: string;
  private readonly basic: string | undefined;
  private readonly tokens = new Map<string, string>();
  private useBasic = false;

  constructor(url: string, creds?: string) {
    this.base = url.replace(/\/+$/, '');
    if (!/^https?:\/\//.test(this.base)) throw new UpstreamError(`--from must be an http(s) URL, not ${JSON.stringify(url)}`);
    if (creds !== undefined && !creds.includes(':')) throw new UpstreamError('--creds must be USER:PASSWORD');
    this.basic = creds === undefined ? undefined : `Basic ${Buffer.from(creds).toString('base64')}`;
  }

  /** A GET under /v2/ for repository `name`; answers 401 by getting a token (or using Basic) and trying once more. */
  async get(name: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const scope = `repository:${name}:pull`;
    const url = `${this.base}/v2/${path}`;
    let res = await fetch(url, { headers: { ...headers, ...this.auth(scope) } });
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate') ?? '';
    await res.body?.cancel();
    if (/^bearer\s/i.test(challenge)) await this.fetchToken(challenge, scope);
    else if (/^basic\s/i.test(challenge) && this.basic) this.useBasic = true;
    else throw new UpstreamError(`${url}: 401 Unauthorized${this.basic ? '' : ' (try --creds USER:PASSWORD)'}`);
    res = await fetch(url, { headers: { ...headers, ...this.auth(scope) } });
    if (res.status === 401) throw new UpstreamError(`${url}: 401 Unauthorized after authenticating${this.basic ? '' : ' (try --creds USER:PASSWORD)'}`);
    return res;
  }

  private auth(scope: string): Record<string, string> {
    const token = this.tokens.get(scope);
    if (token) return { Authorization: `Bearer ${token}` };
    if (this.useBasic && this.basic) return { Authorization: this.basic };
    return {};
  }

  /** The token flow: GET realm?service=…&scope=… (with Basic creds when given), answer {token} or {access_token}. */
  private async fetchToken(challenge: string, scope: string): Promise<void> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) throw new UpstreamError(`the upstream's Bearer challenge names no realm: ${challenge}`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', scope);
    const res = await fetch(url, { headers: this.basic ? { Authorization: this.basic } : {} });
    if (!res.ok) throw new UpstreamError(`token request to ${url.origin}${url.pathname}: ${res.status}`);
    const json = (await res.json()) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (!token) throw new UpstreamError(`token response from ${url.origin} holds no token`);
    this.tokens.set(scope, token);
  }
}
