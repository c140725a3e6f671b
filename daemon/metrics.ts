// GET /metrics: Prometheus text format through prom-client. One registry per app
// (tests run several daemons in one process). Request figures come from a
// middleware; pending notifications and the last GC's figures are read from the
// root when scraped, so they are right even when another process wrote them.
import type { Socket } from 'node:net';
import type Koa from 'koa';
import type { Context } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Paths } from '../shared/paths.js';
import { EventQueue } from '../events/queue.js';
import { type GcFigures, readGcFigures } from '../store/gclast.js';
import { type HandlerName, matchRoute } from './routes.js';

// Cache hits and misses: a hook for whatever cache the store grows. Module-level,
// so a cache needs no handle on the app: `cacheHit('manifests')`.
const cacheHits = new Counter({ name: 'cairn_cache_hits_total', help: 'Lookups answered from an in-memory cache', labelNames: ['cache'], registers: [] });
const cacheMisses = new Counter({ name: 'cairn_cache_misses_total', help: 'Lookups a cache could not answer', labelNames: ['cache'], registers: [] });
export const cacheHit = (cache: string): void => cacheHits.inc({ cache });
export const cacheMiss = (cache: string): void => cacheMisses.inc({ cache });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface PullThroughHooks {
  hit(kind: 'manifest' | 'blob'): void;
  miss(kind: 'manifest' | 'blob'): void;
  upstreamError(upstream: string): void;
  servedStale(upstream: string): void;
  fetched(upstream: string, bytes: number): void;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly bytesIn: Counter<'route'>;
  private readonly bytesOut: Counter<'route'>;
  private readonly uploadLatency: Histogram<'method'>;
  private readonly manifestLatency: Histogram<'method'>;
  readonly delivered: Counter<'endpoint'>;
  readonly deliveryFailures: Counter<'endpoint'>;
  /** Bytes a keep-alive socket had read/written when its previous request ended. */
  private readonly seen = new WeakMap<Socket, { read: number; written: number }>();

  constructor(paths: Paths, endpoints: () => string[]) {
    const registers = [this.registry];
    // prom-client samples event-loop delay every 10 ms by default, which wakes an idle
    // daemon 100 times a second (0.11 CPU s per idle 20 s here); every 100 ms still
    // gives hundreds of samples per scrape.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.registry.registerMetric(cacheHits);
    this.registry.registerMetric(cacheMisses);
    this.requests = new Counter({ name: 'cairn_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.bytesIn = new Counter({ name: 'cairn_http_received_bytes_total', help: 'Bytes received from clients (request line, headers and body)', labelNames: ['route'], registers });
    this.bytesOut = new Counter({ name: 'cairn_http_sent_bytes_total', help: 'Bytes sent to clients (status line, headers and body)', labelNames: ['route'], registers });
    this.uploadLatency = new Histogram({ name: 'cairn_upload_request_duration_seconds', help: 'Time to answer blob upload requests (POST, PATCH, PUT …/blobs/uploads/)', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers });
    this.manifestLatency = new Histogram({ name: 'cairn_manifest_request_duration_seconds', help: 'Time to answer manifest requests', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers });
    this.delivered = new Counter({ name: 'cairn_notifications_delivered_total', help: 'Events an endpoint accepted', labelNames: ['endpoint'], registers });
    this.deliveryFailures = new Counter({ name: 'cairn_notification_attempts_failed_total', help: 'Delivery attempts that failed (each is retried or moved to failed/)', labelNames: ['endpoint'], registers });

    const queue = new EventQueue(paths);
    const known = async () => [...new Set([...endpoints(), ...(await queue.endpointsOnDisk())])];
    new Gauge({
      name: 'cairn_notifications_pending',
      help: 'Events queued under the root and not yet delivered, by endpoint',
      labelNames: ['endpoint'],
      registers,
      async collect() {
        this.reset();
        for (const e of await known()) this.set({ endpoint: e }, (await queue.pendingIds(e)).length);
      },
    });
    new Gauge({
      name: 'cairn_notifications_failed',
      help: 'Events an endpoint refused for good (in events/failed/), by endpoint',
      labelNames: ['endpoint'],
      registers,
      async collect() {
        this.reset();
        for (const e of await known()) this.set({ endpoint: e }, (await queue.failedIds(e)).length);
      },
    });

    const gcFigures = () => readGcFigures(paths);
    const gcGauge = (name: string, help: string, pick: (f: GcFigures) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const f = await gcFigures();
          if (f) this.set(pick(f));
        },
      });
    gcGauge('cairn_gc_last_run_timestamp_seconds', 'When the last `cairn gc` finished (Unix time)', (f) => Date.parse(f.finishedAt) / 1000);
    gcGauge('cairn_gc_last_duration_seconds', 'How long the last `cairn gc` took', (f) => f.durationMs / 1000);
    gcGauge('cairn_gc_last_bytes_freed', 'Bytes the last `cairn gc` freed', (f) => f.bytesFreed);
    gcGauge('cairn_gc_last_interrupted', '1 when the last `cairn gc` was interrupted', (f) => (f.interrupted ? 1 : 0));
    new Gauge({
      name: 'cairn_gc_last_removed',
      help: 'What the last `cairn gc` removed, by kind',
      labelNames: ['kind'],
      registers,
      async collect() {
        const f = await gcFigures();
        for (const [kind, n] of Object.entries(f?.removed ?? {})) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'cairn_gc_last_kept',
      help: 'What the last `cairn gc` kept, by kind',
      labelNames: ['kind'],
      registers,
      async collect() {
        const f = await gcFigures();
        if (f) for (const [kind, n] of Object.entries(f.kept)) this.set({ kind }, n);
      },
    });
  }

  /** Delivery counters, for the notifier to call. */
  /** What the pull-through cache counts: answers from the cache, fetches, upstream failures, bytes. */
  pullThroughHooks(): PullThroughHooks {
    const registers = [this.registry];
    const hits = new Counter({ name: 'cairn_pullthrough_hits_total', help: 'Pull-through requests the cache answered without fetching (kind: manifest, blob)', labelNames: ['kind'], registers });
    const misses = new Counter({ name: 'cairn_pullthrough_misses_total', help: 'Pull-through requests that fetched from the upstream (kind: manifest, blob)', labelNames: ['kind'], registers });
    const errors = new Counter({ name: 'cairn_pullthrough_upstream_errors_total', help: 'Upstream requests that failed (unreachable, timeout, 5xx, 429, bad bytes), by upstream prefix', labelNames: ['upstream'], registers });
    const stale = new Counter({ name: 'cairn_pullthrough_stale_served_total', help: 'Tags served from the cache because the upstream could not be asked, by upstream prefix', labelNames: ['upstream'], registers });
    const fetched = new Counter({ name: 'cairn_pullthrough_fetched_bytes_total', help: 'Bytes fetched from upstreams and stored, by upstream prefix', labelNames: ['upstream'], registers });
    return {
      hit: (kind) => hits.inc({ kind }),
      miss: (kind) => misses.inc({ kind }),
      upstreamError: (upstream) => errors.inc({ upstream }),
      servedStale: (upstream) => stale.inc({ upstream }),
      fetched: (upstream, bytes) => fetched.inc({ upstream }, bytes),
    };
  }

  deliveryHooks(): { delivered(e: string, n: number): void; attemptFailed(e: string): void } {
    return {
      delivered: (endpoint, n) => this.delivered.inc({ endpoint }, n),
      attemptFailed: (endpoint) => this.deliveryFailures.inc({ endpoint }),
    };
  }

  /** The outermost middleware: counts every request once its response has gone out. */
  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      const started = process.hrtime.bigint();
      const sock = ctx.req.socket; // taken now: by 'close' the request may have let go of it
      ctx.res.once('close', () => {
        const route = routeOf(ctx);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
        if (route === 'uploads' || route === 'upload') this.uploadLatency.observe({ method: ctx.method }, seconds);
        if (route === 'manifest') this.manifestLatency.observe({ method: ctx.method }, seconds);
        if (!sock) return;
        const before = this.seen.get(sock) ?? { read: 0, written: 0 };
        const now = { read: sock.bytesRead, written: sock.bytesWritten };
        this.seen.set(sock, now);
        this.bytesIn.inc({ route }, Math.max(now.read - before.read, 0));
        this.bytesOut.inc({ route }, Math.max(now.written - before.written, 0));
      });
      await next();
    };
  }

  async handler(ctx: Context): Promise<void> {
    ctx.body = await this.registry.metrics();
    ctx.type = this.registry.contentType;
  }
}

/** Metric labels by route handler: a small fixed set, so label values never grow with names or digests. */
const LABELS: Record<HandlerName, string> = {
  base: 'base',
  catalog: 'catalog',
  tags: 'tags',
  tagHistory: 'tag_history',
  revisions: 'revisions',
  referrers: 'referrers',
  uploadStart: 'uploads',
  uploadPatch: 'upload',
  uploadFinish: 'upload',
  uploadStatus: 'upload',
  uploadCancel: 'upload',
  blobGet: 'blob',
  blobDelete: 'blob',
  manifestGet: 'manifest',
  manifestPut: 'manifest',
  manifestDelete: 'manifest',
  metrics: 'metrics',
  page: 'web',
  pageApi: 'web',
  pageAsset: 'web',
};

/**
 * The route label of a request: the route the router took, else (404, 405, a request
 * refused before routing) the table's match by path, so a 405 counts where it was aimed.
 */
export function routeOf(ctx: Context): string {
  const taken = ctx.state.route as HandlerName | undefined;
  const handler = taken ?? matchRoute(undefined, ctx.path)?.route.handler;
  return handler ? LABELS[handler] : 'other';
}
