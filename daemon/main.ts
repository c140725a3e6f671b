// `cairn serve`: start the daemon over a root.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { createApp } from './app.js';
import { startInbox } from './inbox.js';
import { createLogger, type Logger } from './log.js';
import { prepareRoot } from './startup.js';
import { VERSION } from './version.js';

export interface ServeOptions {
  root: string;
  listen: string;
  logLevel: string;
  /** A folder watched for bundles to import (`--inbox`). */
  inbox?: string;
}

export function serveCommand(yargs: Argv): Argv<ServeOptions> {
  return yargs
    .option('root', { type: 'string', default: './data', describe: 'storage root (created if missing)' })
    .option('listen', { type: 'string', default: '127.0.0.1:5000', describe: 'HOST:PORT to listen on (port 0 picks a free one)' })
    .option('log-level', {
      type: 'string',
      default: 'info',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      describe: 'log level; "info" logs one line per request',
    })
    .option('inbox', { type: 'string', describe: 'watch DIR for bundles (cairn export output) and import them while serving' }) as unknown as Argv<ServeOptions>;
}

export async function serve(opts: ServeOptions, logger: Logger = createLogger(opts.logLevel)): Promise<Server> {
  const root = resolve(opts.root);
  const { host, port } = parseListen(opts.listen);
  const { app, registry } = createApp({ root, logger });
  const { removedTemps } = await prepareRoot(registry.paths);
  const server = createServer(app.callback());
  // Uploads of large blobs may take long; Node's default 5-minute request timeout would cut them.
  server.requestTimeout = 0;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? `${address.address}:${address.port}` : opts.listen;
  logger.info({ version: VERSION, root, removedTemps }, `cairn ${VERSION} serving ${root}`);
  logger.info({ address: actual }, `listening on http://${actual}/v2/`);
  if (opts.inbox) {
    const inbox = await startInbox({ dir: resolve(opts.inbox), root, logger });
    server.once('close', () => void inbox.close());
  }
  return server;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}
