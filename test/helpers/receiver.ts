// A notification receiver for tests: a real HTTP server that records every POSTed
// envelope. It can go down and come back on the same port, or answer with a status.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  contentType: string;
  headers: Record<string, string | string[] | undefined>;
  events: any[];
}

export class Receiver {
  posts: Received[] = [];
  /** Status to answer with (200 by default); `hang` never answers. */
  reply: number | 'hang' = 200;
  port = 0;
  private server: Server | undefined;
  private waiters: (() => void)[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  get events(): any[] {
    return this.posts.flatMap((p) => p.events);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.reply === 'hang') return;
        if (this.reply >= 200 && this.reply < 300) {
          this.posts.push({ contentType: req.headers['content-type'] ?? '', headers: req.headers, events: JSON.parse(Buffer.concat(chunks).toString('utf8')).events });
          for (const w of this.waiters.splice(0)) w();
        }
        res.statusCode = this.reply;
        res.end();
      });
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.port, '127.0.0.1', () => ok());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }

  /** Resolves once `n` events have arrived in total; fails after `ms`. */
  async waitFor(n: number, ms = 10_000): Promise<any[]> {
    const deadline = Date.now() + ms;
    while (this.events.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited ${ms}ms for ${n} event(s), got ${this.events.length}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
    return this.events;
  }
}
