// Delivery: one worker per endpoint drains its queue folder oldest first, a batch
// per POST. A batch leaves the queue only after the endpoint answered 2xx, so a
// crash or restart re-sends it (at least once; receivers dedupe on event id).
// Network errors, timeouts, 5xx, 408 and 429 retry with doubling backoff and keep
// the order (nothing behind a failing batch overtakes it); other 4xx (and, with
// maxAttempts, a batch that keeps failing) move the batch to failed/. Requests never
// wait on any of this: they only write the queue file and kick the worker.
import type { Logger } from 'pino';
import type { Endpoint } from '../../events/config.js';
import { ENVELOPE_MEDIA_TYPE, type RegistryEvent, envelope } from '../../events/envelope.js';
import type { EventQueue } from '../../events/queue.js';

export interface DeliveryHooks {
  delivered?(endpoint: string, events: number): void;
  attemptFailed?(endpoint: string): void;
  refused?(endpoint: string, events: number): void;
}

export class Deliverer {
  private readonly workers: Worker[];
  private poll: NodeJS.Timeout | undefined;

  constructor(queue: EventQueue, endpoints: Endpoint[], logger: Logger, hooks: DeliveryHooks = {}, private readonly pollMs = 2000) {
    this.workers = endpoints.map((e) => new Worker(queue, e, logger, hooks));
  }

  /** Starts draining what is queued (from before a restart, too) and polls for what other processes queue. */
  start(): void {
    this.kick();
    // `cairn gc` and a second daemon write into the same folders; a poll picks that up.
    this.poll = setInterval(() => this.kick(), this.pollMs);
    this.poll.unref();
  }

  kick(): void {
    for (const w of this.workers) w.kick();
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

class Worker {
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private attempts = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly queue: EventQueue,
    private readonly endpoint: Endpoint,
    private readonly logger: Logger,
    private readonly hooks: DeliveryHooks,
  ) {}

  kick(): void {
    if (this.closed || Date.now() < this.retryAt) return; // in backoff: the timer retries
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.logger.error({ err, endpoint: this.endpoint.name }, 'event delivery failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.abort.abort();
    await this.running;
  }

  private async drain(): Promise<void> {
    const name = this.endpoint.name;
    while (!this.closed) {
      const ids = (await this.queue.pendingIds(name)).slice(0, this.endpoint.batch);
      if (!ids.length) return;
      const events: RegistryEvent[] = [];
      const unreadable: string[] = [];
      for (const id of ids) {
        const ev = await this.queue.read(name, id);
        if (ev) events.push(ev);
        else unreadable.push(id);
      }
      if (unreadable.length) await this.queue.fail(name, unreadable, 'not a readable event');
      const sent = ids.filter((id) => !unreadable.includes(id));
      if (!sent.length) continue;

      const outcome = await this.post(events);
      if (this.closed && outcome.kind !== 'ok') return; // shutting down: the batch stays queued
      if (outcome.kind === 'ok') {
        await this.queue.remove(name, sent);
        if (this.attempts) await this.queue.setStatus(name, undefined);
        this.attempts = 0;
        this.hooks.delivered?.(name, sent.length);
        continue;
      }
      this.attempts++;
      this.hooks.attemptFailed?.(name);
      const giveUp = outcome.kind === 'refused' || (this.endpoint.maxAttempts > 0 && this.attempts >= this.endpoint.maxAttempts);
      if (giveUp) {
        this.logger.warn({ endpoint: name, events: sent.length, reason: outcome.reason }, 'events moved to failed/');
        await this.queue.fail(name, sent, outcome.reason);
        await this.queue.setStatus(name, { attempts: this.attempts, lastError: outcome.reason, lastAttemptAt: new Date().toISOString() });
        this.attempts = 0;
        this.hooks.refused?.(name, sent.length);
        continue;
      }
      const delay = Math.min(this.endpoint.backoffMs * 2 ** (this.attempts - 1), this.endpoint.maxBackoffMs);
      this.retryAt = Date.now() + delay;
      await this.queue.setStatus(name, {
        attempts: this.attempts,
        lastError: outcome.reason,
        lastAttemptAt: new Date().toISOString(),
        nextAttemptAt: new Date(this.retryAt).toISOString(),
      });
      this.logger.debug({ endpoint: name, attempts: this.attempts, delay, reason: outcome.reason }, 'event delivery will retry');
      this.retryTimer = setTimeout(() => {
        this.retryAt = 0;
        this.kick();
      }, delay);
      this.retryTimer.unref();
      return;
    }
  }

  private async post(events: RegistryEvent[]): Promise<{ kind: 'ok' } | { kind: 'retry' | 'refused'; reason: string }> {
    try {
      const res = await fetch(this.endpoint.url, {
        method: 'POST',
        headers: { ...this.endpoint.headers, 'Content-Type': ENVELOPE_MEDIA_TYPE },
        body: envelope(events),
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.endpoint.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined); // drain, so the connection can be reused
      if (res.ok) return { kind: 'ok' };
      const reason = `HTTP ${res.status} from ${this.endpoint.url}`;
      const retryable = res.status >= 500 || res.status === 408 || res.status === 425 || res.status === 429;
      return { kind: retryable ? 'retry' : 'refused', reason };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.endpoint.timeoutMs}ms` : (e.cause?.code ?? e.message);
      return { kind: 'retry', reason: `${why} (${this.endpoint.url})` };
    }
  }
}
