// Starts the real daemon (createApp + an HTTP server) on an ephemeral port over a
// fresh temp root. Tests speak HTTP to `url`.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServeOptions } from '../../daemon/main.js';
import { createLogger } from '../../daemon/log.js';
import type { Logger } from 'pino';

export interface TestDaemon {
  url: string;
  /** host:port, as skopeo wants it */
  host: string;
  root: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDaemon(
  opts: { root?: string; keepRoot?: boolean; inbox?: string; notify?: string; serve?: Partial<ServeOptions>; logger?: Logger } = {},
): Promise<TestDaemon> {
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'cairn-test-')));
  const removeRoot = () => (opts.root || opts.keepRoot ? undefined : rm(root, { recursive: true, force: true }));
  const startInbox = opts.inbox ? (await import('../../mirror/inbox.js')).startInbox : undefined;
  const server = await serve(
    { root, listen: '127.0.0.1:0', logLevel: 'silent', inbox: opts.inbox, notify: opts.notify, ...opts.serve },
    opts.logger ?? createLogger(process.env.CAIRN_TEST_LOG ?? 'silent'),
    { startInbox },
  ).catch(async (err) => {
    await removeRoot(); // a test that expects the start to fail leaves no root behind
    throw err;
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('daemon did not listen');
  const host = `127.0.0.1:${address.port}`;
  return {
    url: `${opts.serve?.tlsCert ? 'https' : 'http'}://${host}`,
    host,
    root,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await removeRoot();
    },
  };
}

/**
 * One daemon for all the tests of a file: started before them, closed after. The
 * returned handle reads through to it, so `new Client(handle)` works at top level.
 */
export function daemonForFile(): TestDaemon {
  let daemon: TestDaemon | undefined;
  before(async () => {
    daemon = await startDaemon();
  });
  after(() => daemon?.close());
  const get = (): TestDaemon => {
    if (!daemon) throw new Error('the daemon starts before the first test; use it inside tests');
    return daemon;
  };
  return {
    get url() { return get().url; },
    get host() { return get().host; },
    get root() { return get().root; },
    get server() { return get().server; },
    close: () => get().close(),
  };
}
