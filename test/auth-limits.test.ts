// Read-only mode, TLS, the start-up warning and the limits: every write
// route answers 405 UNSUPPORTED on a --read-only registry while reads work; HTTPS
// with a certificate made here by openssl; --max-uploads answers 429; a client too
// slow with its headers gets 408, an idle connection is closed; failed sign-ins are
// logged without the password.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { authFiles, basic, capturedLogger } from './helpers/auth.js';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { blob, image, realImage, writeOciLayout } from './helpers/images.js';
import { assertOciError, rawRequest } from './helpers/raw.js';
import { snapshot } from './helpers/tree.js';

const run = promisify(execFile);

describe('--read-only', () => {
  let d: TestDaemon;
  const m = image({ layers: ['read-only layer'] });
  const layer = m.blobs[0]!;
  let uploadId = '';

  before(async () => {
    const writable = await startDaemon({ keepRoot: true });
    await new Client(writable.url).pushImage('ro/app', m, '1');
    const r = await new Client(writable.url).req('POST', '/v2/ro/app/blobs/uploads/');
    uploadId = r.headers.get('docker-upload-uuid')!;
    await writable.close();
    d = await startDaemon({ root: writable.root, serve: { readOnly: true } });
  });
  after(async () => {
    await d?.close();
    if (d) await rm(d.root, { recursive: true, force: true });
  });

  const writes: [string, () => string, string?][] = [
    ['POST', () => '/v2/ro/app/blobs/uploads/'],
    ['POST', () => `/v2/ro/app/blobs/uploads/?digest=${blob('new').digest}`, 'new'],
    ['POST', () => `/v2/ro/other/blobs/uploads/?mount=${layer.digest}&from=ro/app`],
    ['PATCH', () => `/v2/ro/app/blobs/uploads/${uploadId}`, 'chunk'],
    ['PUT', () => `/v2/ro/app/blobs/uploads/${uploadId}?digest=${blob('').digest}`],
    ['DELETE', () => `/v2/ro/app/blobs/uploads/${uploadId}`],
    ['DELETE', () => `/v2/ro/app/blobs/${layer.digest}`],
    ['PUT', () => '/v2/ro/app/manifests/2', m.body.toString()],
    ['PUT', () => `/v2/ro/app/manifests/${m.digest}?tag=3`, m.body.toString()],
    ['DELETE', () => '/v2/ro/app/manifests/1'],
    ['DELETE', () => `/v2/ro/app/manifests/${m.digest}`],
    ['DELETE', () => `/v2/ro/app/manifests/1/${m.digest}`],
  ];
  for (const [method, path, body] of writes) {
    test(`${method} ${path().replace(/sha256:[0-9a-f]+/, '<digest>').replace(/[0-9a-f-]{36}/, '<uuid>')} answers 405 UNSUPPORTED and changes nothing`, async () => {
      const before = await snapshot(d.root);
      const r = await rawRequest(d.url, method, path(), { body, headers: body ? { 'Content-Type': m.mediaType } : {} });
      assertOciError(r, 405, 'UNSUPPORTED');
      assert.match(r.json.errors[0].message, /read-only/);
      assert.deepEqual(await snapshot(d.root), before);
    });
  }

  test('reads still work', async () => {
    const c = new Client(d.url);
    assert.equal((await c.req('GET', '/v2/')).status, 200);
    const man = await c.req('GET', '/v2/ro/app/manifests/1', { headers: { Accept: m.mediaType } });
    assert.equal(man.status, 200);
    assert.equal(man.headers.get('docker-content-digest'), m.digest);
    assert.equal((await c.req('HEAD', `/v2/ro/app/blobs/${layer.digest}`)).status, 200);
    assert.deepEqual((await c.req('GET', '/v2/ro/app/tags/list')).json, { name: 'ro/app', tags: ['1'] });
    assert.deepEqual((await c.req('GET', '/v2/_catalog')).json, { repositories: ['ro/app'] });
    assert.equal((await c.req('GET', `/v2/ro/app/blobs/uploads/${uploadId}`)).status, 204);
  });
});

describe('TLS', () => {
  let dir: string;
  let d: TestDaemon;
  let cert: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-tls-'));
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    cert = await readFile(join(dir, 'cert.pem'));
    d = await startDaemon({ serve: { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') } });
  });
  after(async () => {
    await d?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('serves /v2/ over https with the given certificate', async () => {
    assert.match(d.url, /^https:/);
    const { port } = new URL(d.url);
    const reply = await new Promise<{ status: number; api: string; body: string }>((ok, fail) => {
      const r = httpsRequest({ host: '127.0.0.1', port, path: '/v2/', ca: cert }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => ok({ status: res.statusCode!, api: String(res.headers['docker-distribution-api-version']), body }));
      });
      r.on('error', fail);
      r.end();
    });
    assert.deepEqual(reply, { status: 200, api: 'registry/2.0', body: '{}' });
  });

  test('plain HTTP on the TLS port gets no registry answer', async () => {
    const { port } = new URL(d.url);
    const status = await new Promise<number | string>((ok) => {
      const r = httpRequest({ host: '127.0.0.1', port, path: '/v2/' }, (res) => ok(res.statusCode!));
      r.on('error', (e) => ok((e as NodeJS.ErrnoException).code ?? 'error'));
      r.end();
    });
    assert.notEqual(status, 200);
  });

  test('skopeo pushes over TLS, trusting the certificate through --dest-cert-dir', async () => {
    const certs = join(dir, 'certs.d');
    await mkdir(certs);
    await copyFile(join(dir, 'cert.pem'), join(certs, 'ca.crt'));
    const m = await realImage({ 'etc/tls': 'over TLS\n' });
    await writeOciLayout(join(dir, 'src'), [{ image: m, tag: '1' }]);
    await writeFile(join(dir, 'auth.json'), '{"auths":{}}');
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-cert-dir', certs, `oci:${join(dir, 'src')}:1`, `docker://${d.host}/tls/app:1`], {
      env: { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: join(dir, 'auth.json') },
    });
    const { port } = new URL(d.url);
    const digest = await new Promise<string>((ok, fail) => {
      const r = httpsRequest({ host: '127.0.0.1', port, method: 'HEAD', path: '/v2/tls/app/manifests/1', ca: cert }, (res) => {
        res.resume();
        ok(String(res.headers['docker-content-digest']));
      });
      r.on('error', fail);
      r.end();
    });
    assert.equal(digest, m.digest);
  });
});

describe('start-up warning', () => {
  test('listening beyond loopback without TLS or auth warns; on loopback it does not', async () => {
    for (const [listen, warned] of [['0.0.0.0:0', true], ['127.0.0.1:0', false]] as const) {
      const log = capturedLogger();
      const d = await startDaemon({ logger: log.logger, serve: { listen } });
      await d.close();
      const warning = log.text().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.level === 40);
      assert.equal(!!warning, warned, `${listen}: ${log.text()}`);
      if (warning) assert.match(warning.msg, /without TLS .* and authentication/);
    }
  });
});

describe('limits', () => {
  test('--max-uploads: one more streaming upload than the cap answers 429 TOOMANYREQUESTS', async () => {
    const d = await startDaemon({ serve: { maxUploads: 1 } });
    try {
      const c = new Client(d.url);
      const start = await c.req('POST', '/v2/cap/app/blobs/uploads/');
      const { port } = new URL(d.url);
      // A PATCH that sends a first chunk and then holds the upload open.
      let finished!: Promise<number>;
      const first = httpRequest({ host: '127.0.0.1', port, method: 'PATCH', path: start.headers.get('location')!, headers: { 'Transfer-Encoding': 'chunked' } });
      finished = new Promise((ok, fail) => {
        first.on('response', (res) => {
          res.resume();
          ok(res.statusCode!);
        });
        first.on('error', fail);
      });
      first.write('first chunk');
      await new Promise((ok) => setTimeout(ok, 150));
      const b = blob('second upload');
      const second = await rawRequest(d.url, 'POST', `/v2/cap/app/blobs/uploads/?digest=${b.digest}`, { body: b.data });
      assertOciError(second, 429, 'TOOMANYREQUESTS');
      assert.match(second.json.errors[0].message, /--max-uploads 1/);
      assert.equal(second.headers['retry-after'], '1');
      first.end();
      assert.equal(await finished, 202);
      assert.equal((await rawRequest(d.url, 'POST', `/v2/cap/app/blobs/uploads/?digest=${b.digest}`, { body: b.data })).status, 201);
    } finally {
      await d.close();
    }
  });

  test('--header-timeout: headers that never finish get 408 REQUEST_TIMEOUT', async () => {
    const d = await startDaemon({ serve: { headerTimeout: '300ms' } });
    try {
      const { port } = new URL(d.url);
      const reply = await new Promise<string>((ok, fail) => {
        const s = connect(Number(port), '127.0.0.1', () => s.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        s.on('data', (c) => (text += c));
        s.on('close', () => ok(text));
        s.on('error', fail);
      });
      assert.match(reply, /^HTTP\/1.1 408 /);
      const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
      assert.equal(body.errors[0].code, 'REQUEST_TIMEOUT');
      assert.match(body.errors[0].message, /--header-timeout/);
    } finally {
      await d.close();
    }
  });

  test('--idle-timeout: a stalled upload connection is closed; the upload says what it holds, to resume from', async () => {
    const log = capturedLogger();
    const d = await startDaemon({ logger: log.logger, serve: { idleTimeout: '300ms' } });
    try {
      const c = new Client(d.url);
      const start = await c.req('POST', '/v2/idle/app/blobs/uploads/');
      const { port } = new URL(d.url);
      const started = Date.now();
      await new Promise<void>((ok, fail) => {
        const s = connect(Number(port), '127.0.0.1', () =>
          s.write(`PATCH ${start.headers.get('location')} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789`),
        );
        s.on('data', () => undefined);
        s.on('close', () => ok());
        s.on('error', fail);
      });
      assert.ok(Date.now() - started < 5000);
      assert.match(log.text(), /--idle-timeout/);
      const status = await c.req('GET', start.headers.get('location')!);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), '0-9', 'the bytes that arrived before the stall are held; the client resumes from there');
    } finally {
      await d.close();
    }
  });
});

describe('credentials stay out of the log', () => {
  test('failed and successful sign-ins log the user name only', async () => {
    const secret = 'Hunter2-htpasswd-Secret';
    const files = await authFiles({ dave: secret });
    const log = capturedLogger();
    const d = await startDaemon({ logger: log.logger, serve: { auth: 'htpasswd', htpasswd: files.htpasswd } });
    try {
      assert.equal((await fetch(`${d.url}/v2/`, { headers: { Authorization: basic('dave', secret) } })).status, 200);
      assert.equal((await fetch(`${d.url}/v2/`, { headers: { Authorization: basic('dave', `${secret}-wrong`) } })).status, 401);
      assert.equal((await fetch(`${d.url}/v2/x/manifests/1`, { headers: { Authorization: basic('dave', secret) } })).status, 404);
      const text = log.text();
      assert.match(text, /"user":"dave"/);
      assert.match(text, /authentication failed/);
      assert.ok(!text.includes(secret), 'no password');
      assert.ok(!text.includes(Buffer.from(`dave:${secret}`).toString('base64')), 'no Basic header');
      assert.ok(!text.includes('$2y$'), 'no password hash');
    } finally {
      await d.close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });
});
