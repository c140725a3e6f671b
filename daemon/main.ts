// `cairn serve`: start the daemon over a root.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { createApp } from './app.js';
import { loadNotifyConfig } from './events/config.js';
import { createLogger, type Logger } from './log.js';
import { prepareRoot } from './startup.js';
import { VERSION } from './version.js';

export interface ServeOptions {
  root: string;
  listen: string;
  logLevel: string;
  /** A notify config file (JSON or YAML): where to POST registry events. */
  notify?: string;
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
    .option('notify', { type: 'string', describe: 'notification endpoints (JSON or YAML file): events are queued under the root and POSTed' }) as unknown as Argv<ServeOptions>;
}

export async function serve(opts: ServeOptions, logger: Logger = createLogger(opts.logLevel)): Promise<Server> {
  const root = resolve(opts.root);
  const { host, port } = parseListen(opts.listen);
  const notify = opts.notify ? await loadNotifyConfig(opts.notify) : undefined;
  const { app, registry, notifier } = createApp({ root, logger, notify });
  const { removedTemps } = await prepareRoot(registry.paths);
  const server = createServer(app.callback());
  await notifier?.start();
  server.once('close', () => void notifier?.close());
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
  return server;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}
