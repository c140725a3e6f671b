// A thin HTTP client for tests: raw requests, and pushing what images.ts builds.
import type { Blob, Built } from './images.js';
import { type RawReply, rawRequest } from './raw.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body parsed as JSON, or undefined. */
  json: any;
}

export class Client {
  private readonly target: string | { readonly url: string };

  /** `target` is a base URL, or anything with a `url` read at request time (a daemon handle). */
  constructor(target: string | { readonly url: string }) {
    this.target = target;
  }

  get url(): string {
    return typeof this.target === 'string' ? this.target : this.target.url;
  }

  async req(method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const res = await fetch(this.url + path, { method, body: opts.body as BodyInit | undefined, headers: opts.headers, redirect: 'manual' });
    const body = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    try {
      json = body.length ? JSON.parse(body.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body, json };
  }

  /** A request sent exactly as written: fetch would normalise `..` and encodings away. */
  async raw(method: string, path: string, headers: Record<string, string> = {}): Promise<RawReply> {
    return rawRequest(this.url, method, path, { headers });
  }

  /** Monolithic upload: POST ?digest= with the bytes. */
  async pushBlob(name: string, b: Blob): Promise<Reply> {
    const r = await this.req('POST', `/v2/${name}/blobs/uploads/?digest=${b.digest}`, {
      body: b.data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (r.status !== 201) throw new Error(`push blob ${b.digest}: ${r.status} ${r.body}`);
    return r;
  }

  async putManifest(name: string, ref: string, m: Built, query = ''): Promise<Reply> {
    return this.req('PUT', `/v2/${name}/manifests/${ref}${query}`, { body: m.body, headers: { 'Content-Type': m.mediaType } });
  }

  /** Pushes an image's blobs, then its manifest under `ref`; throws unless 201. */
  async pushImage(name: string, m: Built, ref: string = m.digest): Promise<Reply> {
    for (const b of m.blobs) await this.pushBlob(name, b);
    const r = await this.putManifest(name, ref, m);
    if (r.status !== 201) throw new Error(`push manifest ${name}:${ref}: ${r.status} ${r.body}`);
    return r;
  }
}
