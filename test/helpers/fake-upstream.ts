// A registry in a few lines, for what no real one will do on purpose: count the
// requests it answers, serve bytes that do not match their digest, go slow. It
// serves GET and HEAD of manifests and blobs from maps the test fills.
import { type Server, createServer } from 'node:http';
import type { Built } from './images.js';

export interface FakeUpstream {
  url: string;
  /** `METHOD path` of every request, in order. */
  requests: string[];
  manifests: Map<string, { body: Buffer; mediaType: string; digest: string }>;
  blobs: Map<string, Buffer>;
  /** Digest → the bytes served instead (a lying upstream). */
  lies: Map<string, Buffer>;
  /** Delay before each blob body chunk of 1 MiB, ms. */
  chunkDelayMs: number;
  add(name: string, tag: string, m: Built): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const fake = {
    requests: [],
    manifests: new Map(),
    blobs: new Map(),
    lies: new Map(),
    chunkDelayMs: 0,
    url: '',
    close: async () => undefined,
    add(name: string, tag: string, m: Built) {
      const entry = { body: m.body, mediaType: m.mediaType, digest: m.digest };
      fake.manifests.set(`${name}:${tag}`, entry);
      fake.manifests.set(`${name}:${m.digest}`, entry);
      for (const b of m.blobs) fake.blobs.set(b.digest, b.data);
    },
  } as FakeUpstream;
  const server: Server = createServer(async (req, res) => {
    fake.requests.push(`${req.method} ${req.url}`);
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/?]+)$/.exec(req.url ?? '');
    if (req.url === '/v2/' || req.url === '/v2') return void res.writeHead(200).end('{}');
    if (!m) return void res.writeHead(404).end();
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const e = fake.manifests.get(`${name}:${ref}`);
      if (!e) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      const body = fake.lies.get(e.digest) ?? e.body;
      res.writeHead(200, { 'Content-Type': e.mediaType, 'Docker-Content-Digest': e.digest, 'Content-Length': body.length });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    const data = fake.lies.get(ref) ?? fake.blobs.get(ref);
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': ref, 'Content-Length': data.length });
    if (req.method === 'HEAD') return void res.end();
    for (let at = 0; at < data.length; at += 1 << 20) {
      if (fake.chunkDelayMs) await new Promise((r) => setTimeout(r, fake.chunkDelayMs));
      if (!res.write(data.subarray(at, at + (1 << 20)))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  fake.url = `http://127.0.0.1:${port}`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  };
  return fake;
}
