// Byte-exact HTTP for tests that probe routing and bad input: the path goes out as
// written (no `..` folding, no re-encoding), and the reply keeps its headers.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import assert from 'node:assert/strict';

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: any;
}

export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: Buffer | string; headers?: Record<string, string | number> } = {},
): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string | number> = { ...opts.headers };
  const framed = Object.keys(headers).some((h) => ['content-length', 'transfer-encoding'].includes(h.toLowerCase()));
  if (body !== undefined && !framed) {
    headers['Content-Length'] = body.length;
  }
  return new Promise((ok, fail) => {
    const r = httpRequest({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
        } catch {
          json = undefined;
        }
        ok({ status: res.statusCode!, headers: res.headers, body: buf, json });
      });
    });
    r.on('error', fail);
    r.end(body);
  });
}

/** Asserts an OCI error reply: the status, the `{"errors":[…]}` envelope and one of the accepted codes. */
export function assertOciError(reply: { status: number; json: any; body?: Buffer }, status: number, codes: string | string[], what = ''): void {
  const accepted = Array.isArray(codes) ? codes : [codes];
  const shown = reply.body ? reply.body.toString('utf8').slice(0, 300) : JSON.stringify(reply.json);
  assert.equal(reply.status, status, `${what} status (body: ${shown})`);
  assert.ok(reply.json && Array.isArray(reply.json.errors) && reply.json.errors.length > 0, `${what} an OCI error envelope, got ${shown}`);
  const e = reply.json.errors[0];
  assert.ok(accepted.includes(e.code), `${what} error code ${e.code}, expected ${accepted.join(' or ')}`);
  assert.equal(typeof e.message, 'string', `${what} error message is a string`);
}
