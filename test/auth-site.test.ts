// With auth on, what is served off the /v2/ tree (/metrics, the page and its JSON)
// is behind it too: the route table marks those routes `user`.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { authFiles, basic } from './helpers/auth.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;
let c: Client;
let dir: string;
before(async () => {
  const files = await authFiles({ alice: 'secret' });
  dir = files.dir;
  d = await startDaemon({ serve: { auth: 'htpasswd', htpasswd: files.htpasswd } });
  c = new Client(d.url);
});
after(async () => {
  await d.close();
  await rm(dir, { recursive: true, force: true });
});

for (const path of ['/metrics', '/', '/_ui/api/repositories', '/_ui/app.js']) {
  test(`${path} needs a signed-in user`, async () => {
    const anonymous = await c.req('GET', path);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const wrong = await c.req('GET', path, { headers: { Authorization: basic('alice', 'nope') } });
    assert.equal(wrong.status, 401);
    const alice = await c.req('GET', path, { headers: { Authorization: basic('alice', 'secret') } });
    assert.equal(alice.status, 200);
  });
}
