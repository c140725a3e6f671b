// The bench's HTTP client: node:http with one keep-alive agent per target, bodies
// sent from memory without copies, responses either buffered or handed chunk by
// chunk to the caller (a pull hashes as it reads). Timing uses process.hrtime.
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Bytes received (also when the body went to onData instead of `body`). */
  bytes: number;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  /** Sent as is; a large buffer is written in slices so backpressure applies. */
  body?: Buffer;
  /** Takes the response body chunk by chunk; `body` stays empty. */
  onData?: (chunk: Buffer) => void;
}

const SLICE = 4 << 20;

export class Client {
  readonly base: URL;
  private readonly agent: Agent;

  constructor(base: string, maxSockets = 64) {
    this.base = new URL(base);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Resolves a path or a Location header (relative or absolute) against the target. */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.base);
  }

  /**
   * One request. A kept-alive socket the server closed while it idled (a target's
   * keep-alive timeout passing while the other target ran) fails on reuse: such a
   * request is sent once more on a new socket, as Node's docs advise.
   */
  async request(method: string, path: string | URL, opts: RequestOptions = {}): Promise<Response> {
    try {
      return await this.send(method, path, opts);
    } catch (err) {
      if (!(err as { reusedSocket?: boolean }).reusedSocket) throw err;
      return this.send(method, path, opts);
    }
  }

  private send(method: string, path: string | URL, opts: RequestOptions): Promise<Response> {
    const url = typeof path === 'string' ? this.url(path) : path;
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body) headers['Content-Length'] = opts.body.length;
    else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['Content-Length'] ??= 0;
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (opts.onData) opts.onData(chunk);
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up');
        reject(stale ? Object.assign(err, { reusedSocket: true }) : err);
      });
      void writeBody(req, opts.body).catch(reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

async function writeBody(req: import('node:http').ClientRequest, body: Buffer | undefined): Promise<void> {
  if (!body) return void req.end();
  for (let at = 0; at < body.length; at += SLICE) {
    if (!req.write(body.subarray(at, Math.min(at + SLICE, body.length)))) {
      await new Promise<void>((ok, fail) => {
        const onDrain = () => {
          req.off('close', onClose);
          ok();
        };
        const onClose = () => {
          req.off('drain', onDrain);
          fail(new Error('request closed while sending'));
        };
        req.once('drain', onDrain);
        req.once('close', onClose);
      });
    }
  }
  req.end();
}

/** Throws unless the response has one of the expected statuses. */
export function expectStatus(res: Response, what: string, ...ok: number[]): Response {
  if (!ok.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8', 0, 300)}`);
  }
  return res;
}

/** Seconds taken by `fn`, measured with process.hrtime. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** GETs `first`, then each Link rel="next" in turn, as a client walking tags/list does; the JSON pages' `tags`, the pages and the Links seen. */
export async function walkLinks(c: Client, first: string): Promise<{ tags: string[]; pages: number; links: number }> {
  const tags: string[] = [];
  let next: string | undefined = first;
  let pages = 0;
  let links = 0;
  while (next) {
    const res = expectStatus(await c.request('GET', next), `page ${pages + 1} of ${first}`, 200);
    pages++;
    const page = (JSON.parse(res.body.toString()) as { tags: string[] | null }).tags ?? [];
    tags.push(...page);
    const link = res.headers.link;
    const m = typeof link === 'string' ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    next = m ? m[1] : undefined;
    if (next) links++;
    if (pages > 100_000) throw new Error(`${first}: pagination does not end`);
  }
  return { tags, pages, links };
}

export const MiB = 1 << 20;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
