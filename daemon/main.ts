// `cairn serve`: start the daemon over a root.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { createApp } from './app.js';
import { loadAuth, type SecurityOptions, securityOptions } from './auth/options.js';
import { beyondLoopback, serverTimeouts } from './serverlimits.js';
import { createLogger } from './log.js';
import type { Logger } from 'pino';
import { capHeapGrowth } from './memory.js';
import { describeRule, durability, FSYNC_MODES, type FsyncMode } from '../shared/durability.js';
import { rootArg } from '../shared/options.js';
import { Paths } from '../shared/paths.js';
import { prepareRoot } from '../store/root.js';
import { VERSION } from './version.js';
import { WATCH_MODES, type WatchMode, watchTree } from './watch.js';

export interface ServeOptions extends SecurityOptions {
  root: string;
  listen: string;
  logLevel: string;
  /** How the daemon notices other processes' changes (default inotify). */
  watch?: WatchMode;
  /** A folder watched for bundles to import (`--inbox`). */
  inbox?: string;
  /** A notify config file (JSON or YAML): where to POST registry events. */
  notify?: string;
  /** How many folders a write fsyncs: detected (auto), or assumed. */
  fsync?: FsyncMode;
  /** `PREFIX=URL`: repositories under PREFIX/ are a pull-through cache of URL. */
  upstream?: string[];
  /** A file (JSON or YAML) of upstreams, with credentials, ttl, CA. */
  upstreams?: string;
}

/**
 * What the `cairn` command adds to a daemon from its sibling parts, so that the
 * daemon imports none of them: the `--inbox` watcher is the mirror's.
 */
export interface ServeExtras {
  startInbox?: (opts: { dir: string; root: string; logger: Logger }) => Promise<{ close(): unknown }>;
}

export function serveCommand(yargs: Argv): Argv<ServeOptions> {
  return securityOptions(yargs)
    .option('root', { type: 'string', coerce: rootArg, default: './data', describe: 'storage root (created if missing)' })
    .option('listen', { type: 'string', default: '127.0.0.1:5000', describe: 'HOST:PORT to listen on (port 0 picks a free one)' })
    .option('log-level', {
      type: 'string',
      default: 'info',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      describe: 'log level; "info" logs one line per request',
    })
    .option('watch', {
      type: 'string',
      default: 'inotify',
      choices: WATCH_MODES,
      describe: "how to notice other processes' changes: inotify, poll (network filesystems), off",
    })
    .option('inbox', { type: 'string', describe: 'watch DIR for bundles (cairn export output) and import them while serving' })
    .option('notify', { type: 'string', describe: 'notification endpoints (JSON or YAML file): events are queued under the root and POSTed' })
    .option('upstream', { type: 'string', array: true, describe: 'PREFIX=URL: cache repositories under PREFIX/ from the registry at URL (repeatable; e.g. docker.io=https://registry-1.docker.io)' })
    .option('upstreams', { type: 'string', describe: 'upstreams file (JSON or YAML): prefix, url, ttl, offline, username + passwordFile/passwordEnv, ca' })
    .option('fsync', {
      type: 'string',
      default: 'auto',
      choices: FSYNC_MODES,
      describe: "folders a write fsyncs: auto (from the root's filesystem), journal (one: metadata commits in order), every-folder",
    }) as unknown as Argv<ServeOptions>;
}

export async function serve(opts: ServeOptions, logger: Logger = createLogger(opts.logLevel), extras: ServeExtras = {}): Promise<Server> {
  capHeapGrowth();
  const root = resolve(opts.root);
  const { host, port } = parseListen(opts.listen);
  const auth = await loadAuth(opts, new Paths(root));
  // --notify loads its modules only when given (yaml is not part of a plain daemon's
  // memory); the cairn command does the same for --inbox (chokidar, tar, mirror/).
  const notify = opts.notify ? await (await import('../events/config.js')).loadNotifyConfig(opts.notify) : undefined;
  if (opts.inbox && !extras.startInbox) throw new Error('--inbox needs the inbox watcher: serve it through the cairn command');
  const upstreams = opts.upstream?.length || opts.upstreams ? (await import('./pullthrough/config.js')).loadUpstreams(opts.upstream, opts.upstreams) : undefined;
  const { app, registry, notifier, pullThrough } = createApp({ root, logger, auth, readOnly: opts.readOnly, maxUploads: opts.maxUploads, notify, fsync: opts.fsync, upstreams });
  const { removedTemps } = await prepareRoot(registry.paths);
  if (!opts.readOnly) await registry.uploads.prepare();
  if (!opts.tlsCert !== !opts.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  const tls = opts.tlsCert ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey!) } : undefined;
  const timeouts = serverTimeouts(opts, logger);
  const server: Server = tls
    ? (createHttpsServer({ ...tls, ...timeouts.options }, app.callback()) as unknown as Server) // the same API for our use
    : createServer(timeouts.options, app.callback());
  timeouts.apply(server);
  const watcher = await watchTree(registry.paths.repositoriesDir(), registry.tagCache, opts.watch ?? 'inotify', logger);
  server.once('close', () => void watcher.close());
  await notifier?.start();
  server.once('close', () => void notifier?.close());
  server.once('close', () => void pullThrough?.close());
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? `${address.address}:${address.port}` : opts.listen;
  logger.info({ version: VERSION, root, removedTemps }, `cairn ${VERSION} serving ${root}`);
  const d = durability();
  logger.info({ filesystem: d.filesystem, ordered: d.ordered, newFoldersFollow: d.newFoldersFollow, changesWait: d.changesWait }, `fsync: ${describeRule(d)}`);
  logger.info({ address: actual, auth: auth.mode, readOnly: !!opts.readOnly }, `listening on ${tls ? 'https' : 'http'}://${actual}/v2/`);
  for (const u of pullThrough?.upstreams() ?? []) logger.info(u, `pull-through: ${u.prefix}/… is cached from ${u.url}`);
  if (beyondLoopback(host) && (!tls || auth.mode === 'none')) {
    const missing = [!tls && 'TLS (--tls-cert/--tls-key)', auth.mode === 'none' && 'authentication (--auth)'].filter(Boolean).join(' and ');
    const risks = [
      auth.mode === 'none' && `anyone who can reach ${actual} can read${opts.readOnly ? '' : ' and write'} this registry`,
      !tls && auth.mode !== 'none' && 'credentials and tokens cross the network in clear text',
    ].filter(Boolean).join('; ');
    logger.warn({ address: actual }, `listening beyond loopback without ${missing}: ${risks}`);
  }
  if (opts.inbox && extras.startInbox) {
    const inbox = await extras.startInbox({ dir: resolve(opts.inbox), root, logger });
    server.once('close', () => void inbox.close());
  }
  logger.flush(); // the start-up lines, which a supervisor may be waiting on, go out now
  return server;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}
