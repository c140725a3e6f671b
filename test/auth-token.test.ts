// Token mode: the daemon's token endpoint grants only what the rules allow,
// and a bearer is accepted only when its signature, exp, nbf, aud and iss all hold —
// expired, not-yet-valid, forged, wrong-audience and wrong-issuer tokens are refused
// with 401; tokens of an outside issuer are accepted through its JWKS file.
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type JWK, SignJWT, exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint } from 'jose';
import { authFiles, basic, claims, fetchToken } from './helpers/auth.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { blob } from './helpers/images.js';

const RULES = {
  rules: [
    { repositories: ['dev/*'], users: ['alice'], actions: ['pull', 'push'] },
    { repositories: ['open/*'], anonymous: true, actions: ['pull'] },
  ],
};
const alice = { user: 'alice', password: 'alice-Pa55word' };

let d: TestDaemon;
let dir: string;
let ownKey: JWK;
let outside: { privateKey: CryptoKey; kid: string };

const bytes = (b: Buffer) => b as unknown as BodyInit;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A token with the given claims, signed by `key` (default: the daemon's own key) — what an attacker or a clock skew could present. */
async function mint(claimsIn: Record<string, unknown>, opts: { key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: 'cairn', aud: 'cairn', sub: 'alice', iat: now, nbf: now - 1, exp: now + 60, access: [{ type: 'repository', name: 'dev/app', actions: ['pull', 'push'] }] };
  const key = opts.key ?? ((await importJWK({ ...ownKey, alg: 'ES256' }, 'ES256')) as CryptoKey);
  const kid = opts.kid ?? (await calculateJwkThumbprint({ kty: ownKey.kty!, crv: ownKey.crv, x: ownKey.x, y: ownKey.y }));
  const payload = Object.fromEntries(Object.entries({ ...base, ...claimsIn }).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
}

/** What a push of a fresh blob to dev/app answers with this token. */
async function pushWith(token: string, repo = 'dev/app'): Promise<Response> {
  const b = blob(`token test ${Math.random()}`);
  return fetch(`${d.url}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: bytes(b.data), headers: bearer(token) });
}

describe('token mode', () => {
  before(async () => {
    const files = await authFiles({ alice: alice.password }, RULES);
    dir = files.dir;
    const pair = await generateKeyPair('ES256', { extractable: true });
    const pub = await exportJWK(pair.publicKey);
    outside = { privateKey: pair.privateKey, kid: 'corp-key-1' };
    const jwks = join(dir, 'corp.jwks');
    await writeFile(jwks, JSON.stringify({ keys: [{ ...pub, kid: outside.kid, alg: 'ES256', use: 'sig' }] }));
    d = await startDaemon({
      keepRoot: true,
      serve: { auth: 'token', htpasswd: files.htpasswd, rules: files.rules, tokenJwks: jwks, tokenJwksIssuer: 'corp-sso' },
    });
    ownKey = JSON.parse(await readFile(join(d.root, 'auth', 'token-key.jwk'), 'utf8'));
  });
  after(async () => {
    await d?.close();
    if (d) await rm(d.root, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the signing key is generated under the root, private to the daemon (0600)', async () => {
    const s = await stat(join(d.root, 'auth', 'token-key.jwk'));
    assert.equal(s.mode & 0o777, 0o600);
    assert.equal(ownKey.kty, 'EC');
    assert.equal(ownKey.crv, 'P-256');
  });

  test('a challenge names the realm, the service and the scope the request needs', async () => {
    const r = await fetch(`${d.url}/v2/dev/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), `Bearer realm="${d.url}/token",service="cairn",scope="repository:dev/app:pull,push"`);
  });

  test('the token endpoint answers in the Docker token format and a good token pushes', async () => {
    const t = await fetchToken(d.url, ['repository:dev/app:pull,push'], alice);
    assert.equal(t.status, 200);
    assert.equal(t.body.access_token, t.body.token);
    assert.equal(t.body.expires_in, 300);
    assert.ok(!Number.isNaN(Date.parse(t.body.issued_at)));
    const c = claims(t.token!);
    assert.deepEqual(c.access, [{ type: 'repository', name: 'dev/app', actions: ['pull', 'push'] }]);
    assert.equal(c.iss, 'cairn');
    assert.equal(c.aud, 'cairn');
    assert.equal(c.sub, 'alice');
    assert.equal((await pushWith(t.token!)).status, 201);
  });

  test('a scope broader than granted is cut down to what the rules allow, and the rest is refused', async () => {
    const t = await fetchToken(d.url, ['repository:dev/app:pull,push,delete', 'repository:prod/app:*', 'repository:open/x:push'], alice);
    assert.equal(t.status, 200);
    assert.deepEqual(claims(t.token!).access, [{ type: 'repository', name: 'dev/app', actions: ['pull', 'push'] }]);
    const del = await fetch(`${d.url}/v2/dev/app/blobs/${blob('x').digest}`, { method: 'DELETE', headers: bearer(t.token!) });
    assert.equal(del.status, 401);
    assert.match(del.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    assert.equal((await pushWith(t.token!, 'prod/app')).status, 401);
  });

  test('a token whose access claim was widened after signing is refused', async () => {
    const t = await fetchToken(d.url, ['repository:open/x:pull']); // anonymous: pull only
    assert.deepEqual(claims(t.token!).access, [{ type: 'repository', name: 'open/x', actions: ['pull'] }]);
    const [h, , s] = t.token!.split('.');
    const widened = { ...claims(t.token!), access: [{ type: 'repository', name: 'open/x', actions: ['pull', 'push'] }] };
    const forged = `${h}.${Buffer.from(JSON.stringify(widened)).toString('base64url')}.${s}`;
    const r = await pushWith(forged, 'open/x');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('an anonymous token carries only anonymous pulls; wrong credentials get no token', async () => {
    const t = await fetchToken(d.url, ['repository:open/x:pull,push', 'repository:dev/app:pull', 'registry:catalog:*']);
    assert.equal(t.status, 200);
    assert.deepEqual(claims(t.token!).access, [{ type: 'repository', name: 'open/x', actions: ['pull'] }]);
    assert.equal(claims(t.token!).sub, '');
    const wrong = await fetchToken(d.url, ['repository:dev/app:pull'], { user: 'alice', password: 'guess' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errors[0].code, 'UNAUTHORIZED');
    const nobody = await fetchToken(d.url, ['repository:dev/app:pull'], { user: 'mallory', password: 'x' });
    assert.equal(nobody.status, 401);
  });

  test('a token for another service is not issued', async () => {
    const t = await fetchToken(d.url, ['repository:dev/app:pull'], alice, 'other-registry');
    assert.equal(t.status, 403);
    assert.equal(t.body.errors[0].code, 'DENIED');
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: [string, () => Promise<string>][] = [
    ['expired', () => mint({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })],
    ['not yet valid', () => mint({ nbf: now() + 3600, exp: now() + 7200 })],
    ['forged (another key, the daemon key id)', async () => mint({}, { key: (await generateKeyPair('ES256')).privateKey })],
    ['forged (another key, no known key id)', async () => mint({}, { key: (await generateKeyPair('ES256')).privateKey, kid: 'whatever' })],
    ['for another audience', () => mint({ aud: 'other-registry' })],
    ['from another issuer', () => mint({ iss: 'someone-else' })],
    ['without an expiry', () => mint({ exp: undefined })],
    ['the outside key claiming the daemon as issuer', () => mint({ iss: 'cairn' }, { key: outside.privateKey, kid: outside.kid })],
  ];
  for (const [what, make] of refused) {
    test(`a token ${what} is refused with 401`, async () => {
      const r = await pushWith(await make());
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as any).errors[0].code, 'UNAUTHORIZED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm=.*error="invalid_token"$/);
    });
  }

  test('the same claims signed properly are accepted (the refusals above are for the flaw, not the shape)', async () => {
    assert.equal((await pushWith(await mint({}))).status, 201);
  });

  test('a token from the outside issuer, verified with its JWKS file, is accepted', async () => {
    const token = await mint({ iss: 'corp-sso', sub: 'ci-bot' }, { key: outside.privateKey, kid: outside.kid });
    assert.equal((await pushWith(token)).status, 201);
    const expired = await mint({ iss: 'corp-sso', exp: now() - 60, nbf: now() - 120 }, { key: outside.privateKey, kid: outside.kid });
    assert.equal((await pushWith(expired)).status, 401);
  });

  test('a restarted daemon keeps its key: a token issued before the restart still works', async () => {
    const t = await fetchToken(d.url, ['repository:dev/app:pull,push'], alice);
    const files = { htpasswd: join(dir, 'htpasswd'), rules: join(dir, 'rules.json') };
    await d.close();
    d = await startDaemon({ root: d.root, serve: { auth: 'token', ...files } });
    assert.equal((await pushWith(t.token!)).status, 201);
  });
});

describe('token mode: basic credentials are not a bearer', () => {
  test('Basic on a registry route in token mode is refused with the Bearer challenge', async () => {
    const files = await authFiles({ alice: alice.password });
    const td = await startDaemon({ serve: { auth: 'token', htpasswd: files.htpasswd } });
    try {
      const r = await fetch(`${td.url}/v2/`, { headers: { Authorization: basic(alice.user, alice.password) } });
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /);
    } finally {
      await td.close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });
});
