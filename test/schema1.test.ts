// Schema1 signed manifests: the digest is the JWS payload's, signatures are
// verified with jose, stored one file each and merged on serve; bad signatures store
// nothing; skopeo pushes, inspects and pulls a v2s1 image.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FlattenedSign, type CryptoKey, type JWK, exportJWK, flattenedVerify, generateKeyPair, importJWK, importPKCS8, importX509 } from 'jose';
import { MediaTypes } from '../shared/manifest.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { type Blob, blob, realImage, sha256, writeOciLayout } from './helpers/images.js';
import { filesMatching, snapshot } from './helpers/tree.js';

const run = promisify(execFile);
const SIGNED = MediaTypes.schema1Signed;

interface Key {
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
  x5c?: string[];
}

interface Sig {
  header: Record<string, unknown>;
  signature: string;
  protected?: string;
}

async function makeKey(alg: string, opts: { modulusLength?: number; crv?: string } = {}): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, opts);
  return { alg, privateKey, jwk: sortedKeys(await exportJWK(publicKey)) };
}

/** libtrust writes a JWK's members in sorted order. */
function sortedKeys(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).sort(([a], [b]) => (a < b ? -1 : 1))) as JWK;
}

/** An EC key with a self-signed certificate, for signatures that carry `x5c` instead of `jwk`. */
async function makeCertKey(): Promise<Key> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-x5c-'));
  try {
    const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=cairn-test', '-days', '1']);
    const certPem = await readFile(certFile, 'utf8');
    const der = certPem.replace(/-----[A-Z ]+-----|\s/g, '');
    const publicKey = await importX509(certPem, 'ES256', { extractable: true });
    return { alg: 'ES256', privateKey: await importPKCS8(await readFile(keyFile, 'utf8'), 'ES256'), jwk: await exportJWK(publicKey), x5c: [der] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A schema1 payload as libtrust lays it out: 3-space indent, formatted tail "\n}". */
function payloadOf(name: string, tag: string, layers: Blob[], arch = 'amd64'): Buffer {
  const json = {
    schemaVersion: 1,
    name,
    tag,
    architecture: arch,
    fsLayers: layers.map((l) => ({ blobSum: l.digest })),
    history: layers.map((_, i) => ({ v1Compatibility: JSON.stringify({ id: `${i}`.repeat(64), created: '2024-01-01T00:00:00Z' }) })),
  };
  return Buffer.from(JSON.stringify(json, null, 3));
}

/** Signs a payload the way libtrust does: the cut point and tail go into the protected header. */
async function sign(payload: Buffer, key: Key, format = { length: payload.length - 2, tail: payload.subarray(payload.length - 2) }): Promise<Sig> {
  const header = key.x5c ? { alg: key.alg, x5c: key.x5c } : { jwk: key.jwk, alg: key.alg };
  const jws = await new FlattenedSign(payload)
    .setProtectedHeader({ formatLength: format.length, formatTail: format.tail.toString('base64url'), time: new Date().toISOString() })
    .setUnprotectedHeader(header)
    .sign(key.privateKey);
  return { header, signature: jws.signature, protected: jws.protected };
}

/** The pretty JWS body, built here independently of shared/schema1.ts. */
function pretty(payload: Buffer, sigs: Sig[], cut = payload.length - 2): Buffer {
  const block = JSON.stringify(sigs, null, 3).replaceAll('\n', '\n   ');
  return Buffer.concat([payload.subarray(0, cut), Buffer.from(`,\n   "signatures": ${block}\n}`)]);
}

/** Verifies a served pretty JWS with jose alone; returns its payload and each signature's key. */
async function verifyServed(body: Buffer): Promise<{ payload: Buffer; keys: JWK[] }> {
  const sigs = JSON.parse(body.toString('utf8')).signatures as Required<Sig>[];
  assert.ok(sigs.length > 0);
  let payload: Buffer | undefined;
  const keys: JWK[] = [];
  for (const s of sigs) {
    const h = JSON.parse(Buffer.from(s.protected, 'base64url').toString('utf8'));
    const p = Buffer.concat([body.subarray(0, h.formatLength), Buffer.from(h.formatTail, 'base64url')]);
    if (payload) assert.ok(p.equals(payload), 'every signature rebuilds the same payload');
    payload = p;
    const alg = s.header.alg as string;
    const key = s.header.x5c
      ? await importX509(`-----BEGIN CERTIFICATE-----\n${(s.header.x5c as string[])[0]}\n-----END CERTIFICATE-----`, alg)
      : await importJWK(s.header.jwk as JWK, alg);
    await flattenedVerify({ protected: s.protected, header: s.header, payload: p.toString('base64url'), signature: s.signature }, key);
    keys.push((s.header.jwk as JWK) ?? { x5c: s.header.x5c });
  }
  return { payload: payload!, keys };
}

const put = (c: Client, name: string, ref: string, body: Buffer, type: string = SIGNED) =>
  c.req('PUT', `/v2/${name}/manifests/${ref}`, { body, headers: { 'Content-Type': type } });

describe('schema1 signed manifests', () => {
  let d: TestDaemon;
  let c: Client;
  let A: Key, B: Key, C: Key, D: Key, X: Key;
  const layers = [blob('schema1 layer one'), blob('schema1 layer two')];

  before(async () => {
    d = await startDaemon();
    c = new Client(d.url);
    [A, B, C, D, X] = await Promise.all([
      makeKey('ES256', { crv: 'P-256' }),
      makeKey('ES384', { crv: 'P-384' }),
      makeKey('RS256', { modulusLength: 2048 }),
      makeKey('ES256', { crv: 'P-256' }), // never signs: only lends its key to a header
      makeCertKey(),
    ]);
    for (const name of ['demo/multi', 'demo/bad', 'demo/serve']) for (const l of layers) await c.pushBlob(name, l);
  });
  after(() => d.close());

  test('one payload signed by several keys has one digest; GET merges every signature', async () => {
    const name = 'demo/multi';
    const P = payloadOf(name, 'v1', layers);
    const digest = sha256(P);

    const byABody = pretty(P, [await sign(P, A)]);
    const byA = await put(c, name, 'v1', byABody);
    assert.equal(byA.status, 201, byA.body.toString());
    assert.equal(byA.headers.get('docker-content-digest'), digest);
    assert.equal(byA.headers.get('location'), `/v2/${name}/manifests/${digest}`);
    assert.ok((await readFile(join(d.root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)))).equals(P), 'the blob is the payload');
    const single = await c.req('GET', `/v2/${name}/manifests/v1`);
    assert.ok(single.body.equals(byABody), 'one signature serves back the pushed bytes');

    for (const key of [B, C, X]) {
      const r = await put(c, name, 'v1', pretty(P, [await sign(P, key)]));
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers.get('docker-content-digest'), digest);
    }
    assert.equal((await filesMatching(d.root, new RegExp(`^signatures/sha256/${digest.slice(7)}/[a-f0-9]{64}$`))).length, 4);

    const got = await c.req('GET', `/v2/${name}/manifests/v1`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), SIGNED);
    assert.equal(got.headers.get('docker-content-digest'), digest);
    const { payload, keys } = await verifyServed(got.body);
    assert.ok(payload.equals(P));
    assert.deepEqual(new Set(keys.map((k) => k.x ?? k.n ?? 'x5c')), new Set([A.jwk.x, B.jwk.x, C.jwk.n, 'x5c']));

    // A's signature again: by digest nothing on disk changes; by tag only the tag's index time.
    const tree = await snapshot(d.root);
    assert.equal((await put(c, name, digest, byABody)).status, 201);
    assert.deepEqual(await snapshot(d.root), tree);
    assert.equal((await put(c, name, 'v1', byABody)).status, 201);
    const changed = Object.entries(await snapshot(d.root)).filter(([p, h]) => tree[p] !== h).map(([p]) => p);
    assert.deepEqual(changed.sort(), [`repositories/${name}/_tags/v1/index/sha256/${digest.slice(7)}`, `repositories/${name}/_tags/v1/log`]);
    assert.deepEqual(Object.keys(await snapshot(d.root)).sort(), Object.keys(tree).sort());
  });

  test('a bad signature is MANIFEST_UNVERIFIED and stores nothing', async () => {
    const name = 'demo/bad';
    const P = payloadOf(name, 'v1', layers);
    const good = await sign(P, A);
    assert.equal((await put(c, name, 'v1', pretty(P, [good]))).status, 201);

    const P2 = payloadOf(name, 'v1', layers, 'arm64');
    const a2 = await sign(P2, A);
    const flip = (s: string) => (s[10] === 'A' ? 'B' : 'A');
    const tamperedSig = { ...a2, signature: a2.signature.slice(0, 10) + flip(a2.signature) + a2.signature.slice(11) };
    const tamperedPayload = Buffer.from(pretty(P2, [a2]).toString().replace('"arm64"', '"arm65"'));
    const pastEnd = await sign(P2, A, { length: 100_000, tail: Buffer.from('\n}') });
    const { protected: _dropped, ...noProtected } = a2;
    const wrongKey = { ...a2, header: { jwk: D.jwk, alg: 'ES256' } };
    const wrongAlg = { ...a2, header: { jwk: A.jwk, alg: 'RS256' } };
    const cases: [string, Buffer][] = [
      ['tampered signature', pretty(P2, [tamperedSig])],
      ['tampered payload', tamperedPayload],
      ['formatLength past the end', pretty(P2, [pastEnd])],
      ['missing protected', pretty(P2, [noProtected])],
      ['a header key that did not sign', pretty(P2, [wrongKey])],
      ['an algorithm the key does not use', pretty(P2, [wrongAlg])],
      ['one good and one bad signature', pretty(P2, [await sign(P2, B), tamperedSig])],
      ['no signatures at all', pretty(P2, [])],
    ];
    const tree = await snapshot(d.root);
    for (const [what, body] of cases) {
      for (const ref of ['v1', sha256(P2)]) {
        const r = await put(c, name, ref, body);
        assert.equal(r.status, 400, `${what}: ${r.body}`);
        assert.equal(r.json?.errors?.[0]?.code, 'MANIFEST_UNVERIFIED', `${what}: ${r.body}`);
      }
    }
    assert.deepEqual(await snapshot(d.root), tree);
  });

  test('name, tag, blobs and digest are checked against the URL, storing nothing', async () => {
    const name = 'demo/bad';
    const signed = async (P: Buffer) => pretty(P, [await sign(P, A)]);
    const unknownLayer = blob('never pushed');
    const P = payloadOf(name, 'v2', layers);
    // The same payload as demo/bad:v1, cut one byte later (tail "}"): one
    // digest, but its signatures could not share a JWS with the stored one.
    const P1 = payloadOf(name, 'v1', layers);
    assert.equal((await put(c, name, 'v1', await signed(P1))).status, 201);
    const otherCut = async () => {
      const cut = { length: P1.length - 1, tail: Buffer.from('}') };
      return pretty(P1, [await sign(P1, B, cut)], cut.length);
    };
    const cases: [string, string, Buffer, string][] = [
      ['name differs', 'v2', await signed(payloadOf('demo/other', 'v2', layers)), 'NAME_INVALID'],
      ['tag differs', 'v3', await signed(P), 'TAG_INVALID'],
      ['layer not in the repository', 'v2', await signed(payloadOf(name, 'v2', [layers[0]!, unknownLayer])), 'MANIFEST_BLOB_UNKNOWN'],
      ['digest of the whole body, not the payload', sha256(await signed(P)), await signed(P), 'DIGEST_INVALID'],
      ['a second signature that cuts the stored payload elsewhere', 'v1', await otherCut(), 'MANIFEST_INVALID'],
      ['history and fsLayers do not pair', 'v2', await signed(Buffer.from(P.toString().replace(/"history": \[[^\]]*\]/, '"history": []'))), 'MANIFEST_INVALID'],
    ];
    const tree = await snapshot(d.root);
    for (const [what, ref, body, code] of cases) {
      const r = await put(c, name, ref, body);
      assert.equal(r.json?.errors?.[0]?.code, code, `${what}: ${r.status} ${r.body}`);
      assert.equal(r.status, 400, what);
    }
    assert.deepEqual(await snapshot(d.root), tree);
  });

  test('GET and HEAD by tag, digest and tag/digest serve the merged JWS, whatever Accept says', async () => {
    const name = 'demo/serve';
    const P = payloadOf(name, 'latest', layers);
    const digest = sha256(P);
    assert.equal((await put(c, name, 'latest', pretty(P, [await sign(P, A)]))).status, 201);
    assert.equal((await put(c, name, digest, pretty(P, [await sign(P, C)]))).status, 201);

    let first: Buffer | undefined;
    for (const ref of ['latest', digest, `latest/${digest}`]) {
      for (const accept of [undefined, MediaTypes.ociManifest, `${MediaTypes.dockerManifest}, ${MediaTypes.ociIndex}`]) {
        const headers: Record<string, string> = accept ? { Accept: accept } : {};
        const got = await c.req('GET', `/v2/${name}/manifests/${ref}`, { headers });
        assert.equal(got.status, 200, `${ref}: ${got.body}`);
        assert.equal(got.headers.get('content-type'), SIGNED);
        assert.equal(got.headers.get('docker-content-digest'), digest);
        first ??= got.body;
        assert.ok(got.body.equals(first), 'every route serves the same bytes');
        const head = await c.req('HEAD', `/v2/${name}/manifests/${ref}`, { headers });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(got.body.length));
        assert.equal(head.headers.get('docker-content-digest'), digest);
      }
    }
    const { payload, keys } = await verifyServed(first!);
    assert.ok(payload.equals(P));
    assert.equal(keys.length, 2);

    const notInHistory = await c.req('GET', `/v2/${name}/manifests/other/${digest}`);
    assert.equal(notInHistory.status, 404);
  });

  test('the page\'s revision JSON lists the stored signatures and the fsLayers', async () => {
    const name = 'demo/serve';
    const P = payloadOf(name, 'page', layers);
    assert.equal((await put(c, name, 'page', pretty(P, [await sign(P, A)]))).status, 201);
    assert.equal((await put(c, name, 'page', pretty(P, [await sign(P, C)]))).status, 201);
    const r = await c.req('GET', `/_ui/api/revision?repo=${name}&digest=${sha256(P)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.signatures.map((s: { alg: string }) => s.alg).sort(), ['ES256', 'RS256']);
    assert.deepEqual(new Set(r.json.layers.map((l: { digest: string }) => l.digest)), new Set(layers.map((l) => l.digest)));
    assert.deepEqual(r.json.tags, ['page']);
  });

  test('an unsigned v1+json manifest is its own payload', async () => {
    const name = 'demo/serve';
    const P = payloadOf(name, 'plain', layers);
    const r = await put(c, name, 'plain', P, MediaTypes.schema1);
    assert.equal(r.status, 201, r.body.toString());
    assert.equal(r.headers.get('docker-content-digest'), sha256(P));
    const got = await c.req('GET', `/v2/${name}/manifests/plain`);
    assert.equal(got.headers.get('content-type'), MediaTypes.schema1);
    assert.ok(got.body.equals(P));
    const signedType = await put(c, name, 'plain', payloadOf(name, 'plain', layers, 'arm64'));
    assert.equal(signedType.json?.errors?.[0]?.code, 'MANIFEST_UNVERIFIED', 'prettyjws without signatures');
  });
});

const SKOPEO = '/usr/bin/skopeo';

/** A pass-through HTTP proxy in front of the daemon that keeps every manifest PUT body, to see what skopeo sent. */
async function capturingProxy(target: string): Promise<{ host: string; puts: Buffer[]; close(): Promise<void> }> {
  const puts: Buffer[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'PUT' && req.url?.includes('/manifests/')) puts.push(body);
    const up = request(target + req.url, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    puts,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

describe('skopeo and schema1', { skip: !existsSync(SKOPEO) && 'skopeo is not installed' }, () => {
  let d: TestDaemon;
  let work: string;

  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-skopeo-s1-'));
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('copy --format v2s1 in, inspect by tag and digest, copy back out: one digest throughout', async () => {
    const img = await realImage({ 'hello.txt': 'hello schema1\n' });
    await writeOciLayout(join(work, 'layout'), [{ image: img, tag: 'src' }]);
    const skopeo = (...args: string[]) => run(SKOPEO, ['--insecure-policy', ...args], { timeout: 60_000 });
    const ref = `docker://${d.host}/demo/s1`;

    const proxy = await capturingProxy(d.url);
    try {
      await skopeo('copy', '--format', 'v2s1', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:src`, `docker://${proxy.host}/demo/s1:1`);
    } finally {
      await proxy.close();
    }
    const got = await new Client(d.url).req('GET', '/v2/demo/s1/manifests/1');
    assert.equal(got.headers.get('content-type'), SIGNED);
    const ours = got.headers.get('docker-content-digest')!;
    // skopeo signed with its own key and compact JSON; one signature serves back exactly what it sent.
    assert.equal(proxy.puts.length, 1);
    assert.ok(got.body.equals(proxy.puts[0]!), 'served bytes equal the pushed bytes');

    const byTag = JSON.parse((await skopeo('inspect', '--tls-verify=false', `${ref}:1`)).stdout);
    assert.equal(byTag.Digest, ours);
    const byDigest = JSON.parse((await skopeo('inspect', '--tls-verify=false', `${ref}@${ours}`)).stdout);
    assert.equal(byDigest.Digest, ours);
    const raw = (await skopeo('inspect', '--raw', '--tls-verify=false', `${ref}:1`)).stdout;
    const { payload } = await verifyServed(Buffer.from(raw));
    assert.equal(sha256(payload), ours);

    await skopeo('copy', '--src-tls-verify=false', `${ref}@${ours}`, `dir:${join(work, 'out')}`);
    const pulled = await readFile(join(work, 'out', 'manifest.json'));
    assert.equal(sha256((await verifyServed(pulled)).payload), ours);
  });
});
