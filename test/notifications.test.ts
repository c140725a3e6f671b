// Notifications (--notify): Distribution's envelope, one event per push with the
// right digest, durable delivery across a restart while the receiver is down, in
// order and without doubles, and pushes that never wait on a dead endpoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from './helpers/client.js';
import { startDaemon } from './helpers/daemon.js';
import { DAY, ageTree, cairnGc } from './helpers/gc.js';
import { image } from './helpers/images.js';
import { Receiver } from './helpers/receiver.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const ENVELOPE = 'application/vnd.docker.distribution.events.v1+json';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cairn-notify-'));
}

async function cairnEvents(root: string): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'events', '--root', root, '--json']);
  return JSON.parse(stdout);
}

test('one event per push, with the digest, in Distribution\'s envelope; pull, delete and mount too; filters apply', async () => {
  const dir = await tempDir();
  const all = new Receiver();
  const pushesOnly = new Receiver();
  await all.start();
  await pushesOnly.start();
  // YAML, with Distribution-style list header values.
  const config = join(dir, 'notify.yaml');
  await writeFile(
    config,
    `endpoints:
  - name: all
    url: ${all.url}
    headers: { Authorization: [ "Bearer s3cret" ] }
    timeout: 2s
  - name: pushes
    url: ${pushesOnly.url}
    filters:
      actions: [push]
      repositories: ["team/**"]
`,
  );
  const d = await startDaemon({ notify: config });
  try {
    const c = new Client(d);
    const m = image();
    const put = await c.pushImage('team/app', m, 'v1');
    assert.equal(put.status, 201);
    const [push] = await all.waitFor(1);
    assert.equal(all.posts[0]!.contentType, ENVELOPE);
    assert.equal(all.posts[0]!.headers.authorization, 'Bearer s3cret');
    assert.equal(push.action, 'push');
    assert.match(push.id, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(push.timestamp)));
    assert.deepEqual(
      { ...push.target },
      { repository: 'team/app', tag: 'v1', digest: m.digest, mediaType: m.mediaType, size: m.size, length: m.size, url: `${d.url}/v2/team/app/manifests/${m.digest}` },
    );
    assert.equal(push.request.method, 'PUT');
    assert.equal(typeof push.request.id, 'string');
    assert.equal(typeof push.source.instanceID, 'string');
    assert.deepEqual(push.actor, { name: '' });

    // Pull (GET, not HEAD), mount, and the three deletes.
    assert.equal((await c.req('HEAD', '/v2/team/app/manifests/v1')).status, 200);
    assert.equal((await c.req('GET', '/v2/team/app/manifests/v1')).status, 200);
    const layer = m.blobs[1]!;
    assert.equal((await c.req('POST', `/v2/other/blobs/uploads/?mount=${layer.digest}&from=team/app`)).status, 201);
    const m2 = image();
    await c.pushImage('team/app', m2, 'v1');
    assert.equal((await c.req('DELETE', `/v2/team/app/manifests/v1/${m.digest}`)).status, 202);
    assert.equal((await c.req('DELETE', '/v2/team/app/manifests/v1')).status, 202);
    const m3 = image();
    await c.pushImage('team/app', m3);
    assert.equal((await c.req('DELETE', `/v2/team/app/manifests/${m3.digest}`)).status, 202);

    const events = await all.waitFor(8);
    const brief = events.map((e) => [e.action, e.target.repository, e.target.tag, e.target.digest]);
    assert.deepEqual(brief, [
      ['push', 'team/app', 'v1', m.digest],
      ['pull', 'team/app', 'v1', m.digest],
      ['mount', 'other', undefined, layer.digest],
      ['push', 'team/app', 'v1', m2.digest],
      ['delete', 'team/app', 'v1', m.digest],
      ['delete', 'team/app', 'v1', undefined],
      ['push', 'team/app', undefined, m3.digest],
      ['delete', 'team/app', undefined, m3.digest],
    ]);
    assert.equal(events[2].target.fromRepository, 'team/app');
    assert.equal(events[2].target.size, layer.size);

    // The filtered endpoint: pushes under team/ only, exactly one event per push.
    await c.pushImage('elsewhere', image(), 'x');
    await pushesOnly.waitFor(3);
    await new Promise((ok) => setTimeout(ok, 300)); // nothing else arrives
    assert.deepEqual(pushesOnly.events.map((e) => [e.action, e.target.digest]), [['push', m.digest], ['push', m2.digest], ['push', m3.digest]]);

    // Everything delivered: nothing pending.
    await all.waitFor(9);
    const status = await cairnEvents(d.root);
    assert.deepEqual(status.endpoints.map((e: any) => [e.endpoint, e.pending, e.failed]), [['all', 0, 0], ['pushes', 0, 0]]);
  } finally {
    await d.close();
    await all.stop();
    await pushesOnly.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with the receiver down, events queue under the root, survive a restart, and arrive in order once it is back', async () => {
  const dir = await tempDir();
  const root = join(dir, 'root');
  const receiver = new Receiver();
  await receiver.start();
  const port = receiver.port;
  await receiver.stop(); // down, but we know where it will come back
  const config = join(dir, 'notify.json');
  await writeFile(config, JSON.stringify({ endpoints: [{ name: 'deploy', url: receiver.url, backoff: '50ms', maxBackoff: '200ms', batch: 2 }] }));

  const first = await startDaemon({ root, notify: config });
  const c1 = new Client(first);
  const pushed: string[] = [];
  for (let i = 0; i < 5; i++) {
    const m = image();
    await c1.pushImage('shop/api', m, 'v1');
    pushed.push(m.digest);
  }
  await first.close();

  const queued = await cairnEvents(root);
  const deploy = queued.endpoints.find((e: any) => e.endpoint === 'deploy');
  assert.equal(deploy.pending, 5, 'all five events are on disk');
  assert.deepEqual(deploy.pendingEvents.map((p: any) => p.event.target.digest), pushed);
  assert.match(deploy.status.lastError, /ECONNREFUSED/);

  const second = await startDaemon({ root, notify: config });
  try {
    const c2 = new Client(second);
    const m = image();
    await c2.pushImage('shop/api', m, 'v1');
    pushed.push(m.digest);
    await new Promise((ok) => setTimeout(ok, 300));
    assert.equal(receiver.events.length, 0);

    receiver.port = port;
    await receiver.start(); // back
    await receiver.waitFor(6);
    await new Promise((ok) => setTimeout(ok, 400)); // and nothing more arrives
    assert.deepEqual(receiver.events.map((e) => e.target.digest), pushed, 'in order, none lost or doubled');
    assert.equal(new Set(receiver.events.map((e) => e.id)).size, 6);
    assert.ok(receiver.posts.every((p) => p.events.length <= 2), 'batches of at most 2');
    const after = await cairnEvents(root);
    assert.equal(after.endpoints[0].pending, 0);
  } finally {
    await second.close();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a dead endpoint never slows a push; a refusing one sends events to failed/, and --retry-failed queues them again', async () => {
  const dir = await tempDir();
  const hanging = new Receiver();
  hanging.reply = 'hang';
  const refusing = new Receiver();
  refusing.reply = 400;
  await hanging.start();
  await refusing.start();
  const config = join(dir, 'notify.json');
  await writeFile(
    config,
    JSON.stringify({ endpoints: [{ name: 'hangs', url: hanging.url, timeout: '30s' }, { name: 'refuses', url: refusing.url }] }),
  );
  const d = await startDaemon({ notify: config });
  try {
    const c = new Client(d);
    const started = performance.now();
    for (let i = 0; i < 10; i++) await c.pushImage('fast', image(), `t${i}`);
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `10 pushes took ${Math.round(ms)}ms with a hanging endpoint`);

    let status: any;
    for (let i = 0; i < 50; i++) {
      status = await cairnEvents(d.root);
      if (status.endpoints.find((e: any) => e.endpoint === 'refuses').failed === 10) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    const refuses = status.endpoints.find((e: any) => e.endpoint === 'refuses');
    assert.equal(refuses.failed, 10);
    assert.match(refuses.failedEvents[0].reason, /HTTP 400/);
    assert.equal(status.endpoints.find((e: any) => e.endpoint === 'hangs').pending, 10, 'still queued behind the hanging POST');

    refusing.reply = 200;
    await promisify(execFile)(process.execPath, [CLI, 'events', '--root', d.root, '--retry-failed']);
    await refusing.waitFor(10);
    assert.deepEqual(refusing.events.map((e) => e.target.tag), Array.from({ length: 10 }, (_, i) => `t${i}`));
  } finally {
    await d.close();
    await hanging.stop();
    await refusing.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('cairn gc queues a delete event per removed revision for the root\'s endpoints, and the daemon delivers it', async () => {
  const dir = await tempDir();
  const receiver = new Receiver();
  await receiver.start();
  const config = join(dir, 'notify.json');
  await writeFile(config, JSON.stringify({ endpoints: [{ name: 'gc', url: receiver.url, filters: { actions: ['delete'] } }] }));
  const d = await startDaemon({ notify: config });
  try {
    const c = new Client(d);
    const old = image();
    await c.pushImage('gc/app', old, 'v1');
    await c.pushImage('gc/app', image(), 'v1');
    await ageTree(d.root, 2 * DAY);
    const run = await cairnGc(d.root, ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.report.revisionsRemoved, 1);
    const events = await receiver.waitFor(2, 15_000); // the daemon polls the queue every 2s
    assert.deepEqual(
      events.map((e) => [e.action, e.target.repository, e.target.tag, e.target.digest, e.request.method]).sort(),
      [['delete', 'gc/app', 'v1', old.digest, 'GC'], ['delete', 'gc/app', undefined, old.digest, 'GC']].sort(),
    );
    const figures = JSON.parse(await readFile(join(d.root, 'gc-last.json'), 'utf8'));
    assert.equal(figures.removed.revisions, 1);
  } finally {
    await d.close();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad notify config stops the daemon with the field named', async () => {
  const dir = await tempDir();
  const config = join(dir, 'bad.yaml');
  await writeFile(config, 'endpoints:\n  - name: Bad Name\n    url: http://x\n');
  try {
    await assert.rejects(startDaemon({ notify: config }), /endpoints\[0\]\.name/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
