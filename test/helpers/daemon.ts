// Starts the real daemon (createApp + an HTTP server) on an ephemeral port over a
// fresh temp root. Tests speak HTTP to `url`.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../daemon/main.js';
import { createLogger } from '../../daemon/log.js';

export interface TestDaemon {
  url: string;
  /** host:port, as skopeo wants it */
  host: string;
  root: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDaemon(opts: { root?: string; keepRoot?: boolean; inbox?: string } = {}): Promise<TestDaemon> {
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'cairn-test-')));
  const server = await serve(
    { root, listen: '127.0.0.1:0', logLevel: 'silent', inbox: opts.inbox },
    createLogger(process.env.CAIRN_TEST_LOG ?? 'silent'),
  );
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('daemon did not listen');
  const host = `127.0.0.1:${address.port}`;
  return {
    url: `http://${host}`,
    host,
    root,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      if (!opts.root && !opts.keepRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
