// GET /metrics: valid Prometheus text, counters that move with traffic, pending
// notifications and the last GC's figures read from the root; and the sampling
// behind the default metrics leaves an idle daemon asleep.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cacheHit } from '../daemon/metrics.js';
import { spawnDaemon } from './helpers/cli.js';
import { Client } from './helpers/client.js';
import { startDaemon } from './helpers/daemon.js';
import { cairnGc } from './helpers/gc.js';
import { image } from './helpers/images.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser for the text exposition format (0.0.4): throws on any line it does
 * not understand. Values are read as Prometheus reads them (Go's ParseFloat), which
 * takes NaN in any case: prom-client prints `Nan` for the event-loop lag before its
 * first sample.
 */
function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\]|\\\\.)*",?)*)\\})? (-?(?:[0-9.e+-]+|[Nn][Aa][Nn]|\\+Inf|-Inf))(?: -?\\d+)?$`);
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (new RegExp(`^# HELP ${NAME} `).test(line)) continue;
    m = sampleRe.exec(line);
    assert.ok(m, `line ${i + 1} is not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value) || m[3]!.toLowerCase() === 'nan', `line ${i + 1}: bad value`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

test('/metrics parses as Prometheus text and its counters move with traffic', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-metrics-'));
  // An endpoint nobody listens on: events stay pending, and the gauge shows them.
  const config = join(dir, 'notify.json');
  await writeFile(config, JSON.stringify({ endpoints: [{ name: 'nobody', url: 'http://127.0.0.1:9/', backoff: '1m' }] }));
  const d = await startDaemon({ notify: config });
  try {
    const c = new Client(d);
    const scrape = async () => {
      const r = await c.req('GET', '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      return parseProm(r.body.toString('utf8'));
    };
    const before = await scrape();
    assert.equal(before.types.get('cairn_http_requests_total'), 'counter');
    assert.equal(before.types.get('cairn_upload_request_duration_seconds'), 'histogram');
    assert.equal(before.types.get('cairn_manifest_request_duration_seconds'), 'histogram');

    const m = image({ layers: ['x'.repeat(100_000)] });
    await c.pushImage('metrics/app', m, 'v1');
    const got = await c.req('GET', `/v2/metrics/app/blobs/${m.blobs[1]!.digest}`);
    assert.equal(got.status, 200);
    assert.equal((await c.req('GET', '/v2/metrics/app/manifests/nope')).status, 404);
    cacheHit('test-cache');

    const after = (await scrape()).samples;
    const b = before.samples;
    assert.equal(value(after, 'cairn_http_requests_total', { route: 'manifest', method: 'PUT', status: '201' }) - value(b, 'cairn_http_requests_total', { route: 'manifest', method: 'PUT', status: '201' }), 1);
    assert.equal(value(after, 'cairn_http_requests_total', { route: 'manifest', method: 'GET', status: '404' }), 1);
    assert.equal(value(after, 'cairn_http_requests_total', { route: 'uploads', method: 'POST', status: '201' }), 2);
    assert.ok(value(after, 'cairn_http_received_bytes_total', { route: 'uploads' }) >= 100_000, 'the layer came in');
    assert.ok(value(after, 'cairn_http_sent_bytes_total', { route: 'blob' }) >= 100_000, 'and went out');
    assert.equal(value(after, 'cairn_upload_request_duration_seconds_count', { method: 'POST' }), 2);
    assert.equal(value(after, 'cairn_manifest_request_duration_seconds_count', { method: 'PUT' }), 1);
    assert.equal(value(after, 'cairn_manifest_request_duration_seconds_bucket', { method: 'PUT', le: '+Inf' }), 1);
    assert.equal(value(after, 'cairn_cache_hits_total', { cache: 'test-cache' }), 1);
    assert.equal(value(after, 'cairn_notifications_pending', { endpoint: 'nobody' }), 1);
    assert.ok(after.some((s) => s.name === 'process_cpu_user_seconds_total'), 'process metrics too');
    assert.equal(value(after, 'cairn_gc_last_run_timestamp_seconds'), 0, 'no GC has run yet');

    const run = await cairnGc(d.root, ['--json']);
    assert.equal(run.code, 0, run.stderr);
    const gc = (await scrape()).samples;
    assert.ok(value(gc, 'cairn_gc_last_run_timestamp_seconds') > Date.now() / 1000 - 60);
    assert.equal(value(gc, 'cairn_gc_last_kept', { kind: 'revisions' }), 1);
    assert.equal(value(gc, 'cairn_gc_last_removed', { kind: 'blobs' }), 0);
    assert.ok(gc.some((s) => s.name === 'cairn_gc_last_bytes_freed'));
  } finally {
    await d.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** How often the main thread of process `pid` has blocked and been woken since it started. */
function voluntarySwitches(pid: number): number {
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1]);
}

test('an idle daemon wakes its main thread about 10 times a second, not 100', async () => {
  // prom-client's default event-loop sampling (every 10 ms) woke it 100 times a second.
  const root = await mkdtemp(join(tmpdir(), 'cairn-idle-'));
  const d = await spawnDaemon(root);
  try {
    assert.equal((await new Client(d.url).req('GET', '/metrics')).status, 200); // the metrics are live, as in service
    await new Promise((r) => setTimeout(r, 500));
    const before = voluntarySwitches(d.pid);
    await new Promise((r) => setTimeout(r, 2000));
    const wakeups = voluntarySwitches(d.pid) - before;
    assert.ok(wakeups < 80, `the idle daemon's main thread woke ${wakeups} times in 2 s`);
  } finally {
    await d.stop();
    await rm(root, { recursive: true, force: true });
  }
});
