// Hostile sign-in traffic: a path or Host header built to add parameters to the
// WWW-Authenticate challenge, a flood of unknown users, and the cost an unknown
// user's check takes.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Htpasswd } from '../daemon/auth/htpasswd.js';
import { quoted } from '../daemon/auth/middleware.js';
import { authFiles, basic } from './helpers/auth.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { rawRequest } from './helpers/raw.js';

/** The auth-params of one challenge, parsed as a client would (RFC 9110 quoted-strings). */
function challengeParams(header: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gi;
  const rest = header.replace(/^\w+\s+/, '');
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest))) out.push([m[1]!.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1')]);
  return out;
}

describe('token mode: nothing from the request adds a challenge parameter', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    const files = await authFiles({ alice: 'secret' });
    dir = files.dir;
    d = await startDaemon({ serve: { auth: 'token', htpasswd: files.htpasswd } });
  });
  after(async () => {
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a quote in the repository name: 400 NAME_INVALID, no challenge built from it', async () => {
    const r = await rawRequest(d.url, 'GET', '/v2/a",realm="http://evil.example/token",x="/tags/list');
    assert.equal(r.status, 400);
    assert.equal(r.json.errors[0].code, 'NAME_INVALID');
    assert.doesNotMatch(String(r.headers['www-authenticate'] ?? ''), /evil/);
  });

  test('a quote in the Host header stays inside the realm string', async () => {
    const r = await rawRequest(d.url, 'GET', '/v2/a/tags/list', { headers: { Host: 'h",realm="http://evil.example/token' } });
    assert.equal(r.status, 401);
    const params = challengeParams(String(r.headers['www-authenticate']));
    assert.deepEqual(params.map(([k]) => k), ['realm', 'service', 'scope'], 'exactly one realm');
    assert.doesNotMatch(params[0]![1], /evil/);
    assert.equal(params[2]![1], 'repository:a:pull');
  });

  test('quoted() escapes quotes and backslashes and drops control characters', () => {
    assert.equal(quoted('a"b\\c\r\nd'), '"a\\"b\\\\cd"');
  });
});

describe('htpasswd: unknown users', () => {
  test('an unknown user is checked against a hash of the cost the file uses', async () => {
    for (const cost of [4, 6]) {
      const { hashSync } = await import('@node-rs/bcrypt');
      const files = await authFiles({});
      const { writeFile } = await import('node:fs/promises');
      await writeFile(files.htpasswd, `alice:${hashSync('pw', cost).replace(/^\$2b\$/, '$2y$')}\nbob:${hashSync('pw', cost)}\n`);
      const h = await Htpasswd.load(files.htpasswd);
      assert.equal(await h.verify('nobody', 'pw'), false);
      assert.equal((await h.dummyHash()).slice(0, 7), `$2b$0${cost}$`);
      assert.equal(await h.verify('alice', 'pw'), true, '$2y$ entries verify');
      await rm(files.dir, { recursive: true, force: true });
    }
  });

  test('a flood of unknown users is answered 429 past what waits, and never blocks a signed-in user', { timeout: 60_000 }, async () => {
    const { hashSync } = await import('@node-rs/bcrypt');
    const files = await authFiles({});
    const { writeFile } = await import('node:fs/promises');
    // Cost 10: each check ~60 ms, two at a time; 150 at once cannot all wait.
    await writeFile(files.htpasswd, `alice:${hashSync('secret', 10)}\n`);
    const d = await startDaemon({ serve: { auth: 'htpasswd', htpasswd: files.htpasswd } });
    try {
      const alice = { Authorization: basic('alice', 'secret') };
      assert.equal((await rawRequest(d.url, 'GET', '/v2/', { headers: alice })).status, 200); // remembered from now on
      const flood = Array.from({ length: 150 }, (_, i) => rawRequest(d.url, 'GET', '/v2/', { headers: { Authorization: basic(`nobody${i}`, 'x') } }));
      const during = await rawRequest(d.url, 'GET', '/v2/', { headers: alice });
      assert.equal(during.status, 200, 'a remembered sign-in needs no check');
      const statuses = (await Promise.all(flood)).map((r) => r.status);
      assert.ok(statuses.includes(429), `some of the flood is refused: ${[...new Set(statuses)]}`);
      assert.ok(statuses.every((s) => s === 401 || s === 429), `only 401 and 429: ${[...new Set(statuses)]}`);
    } finally {
      await d.close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });
});
