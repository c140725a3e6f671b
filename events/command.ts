// `cairn events --root DIR`: what is queued for each endpoint, what failed and why,
// and the last delivery error. Reads the root only, unless --retry-failed.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { rootArg } from '../shared/options.js';
import { Paths } from '../shared/paths.js';
import { EventQueue } from './queue.js';

export interface EventsArgs {
  root: string;
  json: boolean;
  limit: number;
  retryFailed: boolean;
}

export function eventsCommand(yargs: Argv): Argv<EventsArgs> {
  return yargs
    .usage('$0 events --root DIR [--json] [--limit N] [--retry-failed]\n\nShow notification events pending or failed, per endpoint.')
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON document on stdout' })
    .option('limit', { type: 'number', default: 20, describe: 'events listed per endpoint and state (counts are always whole)' })
    .option('retry-failed', { type: 'boolean', default: false, describe: 'move failed events back into the queue (a serving daemon picks them up)' }) as unknown as Argv<EventsArgs>;
}

export async function events(argv: EventsArgs): Promise<void> {
  const queue = new EventQueue(new Paths(resolve(argv.root)));
  const configured = (await queue.loadEndpoints()).map((e) => e.name);
  const names = [...new Set([...configured, ...(await queue.endpointsOnDisk())])].sort();
  if (argv.retryFailed) {
    for (const name of names) {
      const n = await queue.retryFailed(name);
      if (n) process.stderr.write(`${name}: ${n} failed event(s) queued again\n`);
    }
  }
  const report = [];
  for (const name of names) {
    const [pending, failed, status] = await Promise.all([queue.pendingIds(name), queue.failedIds(name), queue.status(name)]);
    const pendingEvents = [];
    for (const id of pending.slice(0, argv.limit)) pendingEvents.push({ id, event: await queue.read(name, id) });
    const failedEvents = [];
    for (const id of failed.slice(0, argv.limit)) failedEvents.push(await queue.readFailed(name, id) ?? { id });
    report.push({ endpoint: name, configured: configured.includes(name), pending: pending.length, failed: failed.length, status, pendingEvents, failedEvents });
  }
  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ endpoints: report }, null, 2)}\n`);
    return;
  }
  if (!report.length) {
    process.stdout.write('no notify endpoints and no queued events under this root\n');
    return;
  }
  const lines: string[] = [];
  const describe = (ev: { action?: string; target?: { repository?: string; tag?: string; digest?: string } } | undefined) => {
    if (!ev?.target) return '(unreadable)';
    const t = ev.target;
    return `${ev.action} ${t.repository ?? ''}${t.tag ? `:${t.tag}` : ''}${t.digest ? `@${t.digest}` : ''}`;
  };
  for (const r of report) {
    lines.push(`${r.endpoint}${r.configured ? '' : ' (not in the current config)'}: ${r.pending} pending, ${r.failed} failed`);
    if (r.status && r.pending) lines.push(`  last error: ${r.status.lastError} (attempt ${r.status.attempts}${r.status.nextAttemptAt ? `, next ${r.status.nextAttemptAt}` : ''})`);
    for (const p of r.pendingEvents) lines.push(`  pending ${p.id}  ${describe(p.event)}`);
    if (r.pending > r.pendingEvents.length) lines.push(`  … ${r.pending - r.pendingEvents.length} more pending`);
    for (const f of r.failedEvents) lines.push(`  failed  ${f.id}  ${describe('event' in f ? f.event : undefined)}${'reason' in f ? `: ${f.reason}` : ''}`);
    if (r.failed > r.failedEvents.length) lines.push(`  … ${r.failed - r.failedEvents.length} more failed`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
