// The daemon's side of notifications. Handlers note what happened (noteEvent); this
// middleware, between the error envelope and the routes, turns the notes of a
// successful request into events and queues them durably before the response goes
// out, then wakes delivery. If the queue cannot be written the request fails (500)
// and the client retries: an acknowledged push always has its event on disk.
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Context } from 'koa';
import type { Paths } from '../../shared/paths.js';
import type { Logger } from 'pino';
import type { NotifyConfig } from '../../events/config.js';
import { type DeliveryHooks, Deliverer } from './deliver.js';
import { type EventNote, type EventTarget, makeEvent } from '../../events/envelope.js';
import { EventQueue } from '../../events/queue.js';
import type { Action } from '../../events/config.js';

const NOTES = 'cairnEvents';

/** Called by handlers once the change is stored; no-op cost when notifications are off. */
export function noteEvent(ctx: Context, action: Action, target: EventTarget): void {
  const notes = (ctx.state[NOTES] ??= []) as EventNote[];
  notes.push({ action, target: Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined)) as EventTarget });
}

/** The canonical URL of a manifest or blob, by digest, as this request reached us. */
export function canonicalUrl(ctx: Context, location: string): string {
  return `${ctx.protocol}://${ctx.host}${location}`;
}

export class Notifier {
  readonly queue: EventQueue;
  readonly config: NotifyConfig;
  private readonly deliverer: Deliverer;
  private readonly instanceID = randomUUID();

  constructor(paths: Paths, config: NotifyConfig, logger: Logger, hooks: DeliveryHooks = {}, pollMs?: number) {
    this.queue = new EventQueue(paths);
    this.config = config;
    this.deliverer = new Deliverer(this.queue, config.endpoints, logger, hooks, pollMs);
  }

  /** Records the endpoints under the root (for `cairn gc`) and starts delivering what is queued. */
  async start(): Promise<void> {
    await this.queue.saveEndpoints(this.config.endpoints);
    this.deliverer.start();
  }

  async close(): Promise<void> {
    await this.deliverer.close();
  }

  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      await next();
      const notes = ctx.state[NOTES] as EventNote[] | undefined;
      if (!notes?.length || ctx.status >= 400) return;
      const sock = ctx.req.socket;
      const request = {
        id: randomUUID(),
        addr: `${sock.remoteAddress ?? ''}:${sock.remotePort ?? ''}`,
        host: ctx.host,
        method: ctx.method,
        useragent: ctx.get('User-Agent'),
      };
      const source = { addr: `${sock.localAddress ?? ''}:${sock.localPort ?? ''}`, instanceID: this.instanceID };
      // An auth layer that knows the caller may set ctx.state.actor (a user name).
      const actor = typeof ctx.state.actor === 'string' ? ctx.state.actor : '';
      const events = notes.map((n) => makeEvent(n, request, source, actor));
      if ((await this.queue.enqueue(this.config.endpoints, events)) > 0) this.deliverer.kick();
    };
  }
}
