// The daemon's request log, as a supervisor reading its stdout sees it: lines are
// gathered into batches, yet a quiet daemon's lines still go out within moments, and
// every line logged before a SIGTERM is written before the process ends.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnDaemon } from './helpers/cli.js';
import { Client } from './helpers/client.js';

interface Line {
  msg?: string;
  path?: string;
  status?: number;
}

test('request lines reach stdout while the daemon is quiet, and all of them by its exit', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-log-'));
  const d = await spawnDaemon(root);
  let out = '';
  d.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const requests = () =>
    out.split('\n').flatMap((l) => {
      try {
        const rec = JSON.parse(l) as Line;
        return rec.msg === 'request' ? [rec] : [];
      } catch {
        return [];
      }
    });
  try {
    const c = new Client(d.url);
    assert.equal((await c.req('GET', '/v2/')).status, 200);
    const deadline = Date.now() + 5000;
    while (!requests().some((r) => r.path === '/v2/' && r.status === 200)) {
      assert.ok(Date.now() < deadline, `no request line within 5 s of a quiet daemon's request: ${out}`);
      await new Promise((ok) => setTimeout(ok, 20));
    }

    // A burst well short of one batch, then SIGTERM at once: no line may be lost.
    for (let i = 0; i < 5; i++) assert.equal((await c.req('GET', `/v2/log/r${i}/tags/list`)).status, 404);
    await d.stop();
    const last = requests().filter((r) => r.path?.startsWith('/v2/log/'));
    assert.deepEqual(last.map((r) => [r.path, r.status]), [0, 1, 2, 3, 4].map((i) => [`/v2/log/r${i}/tags/list`, 404]));
  } finally {
    await d.stop();
    await rm(root, { recursive: true, force: true });
  }
});
