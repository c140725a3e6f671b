// Crash safety (docs/faults.md): the real daemon process is killed with SIGKILL at random
// instants while a monolithic upload, a chunked upload and a manifest PUT are in
// flight, then restarted over the same root. After every kill: every file under
// blobs/ hashes to its name; every write acknowledged before the kill is served
// intact; the chunked upload that was cut resumes from the offset the new daemon
// reports and completes with the right digest; temp files of the dead process are
// gone once the new one has started.
import { tempOwner } from '../shared/holder.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Paths } from '../shared/paths.js';
import { type DaemonProcess, fsckJson, spawnDaemon } from './helpers/cli.js';
import { type Blob, blob, type Built, image } from './helpers/images.js';

const ROUNDS = 24;
const REPO = 'crash/app';
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A request whose body goes out in pieces with pauses, so a kill can land mid-body. Rejects when the connection dies. */
function slowRequest(url: string, method: string, headers: Record<string, string>, body: Buffer, piece: number, pauseMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method, headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers }));
      res.on('error', fail);
    });
    req.on('error', fail);
    void (async () => {
      for (let i = 0; i < body.length; i += piece) {
        if (req.destroyed) return;
        req.write(body.subarray(i, i + piece));
        await sleep(pauseMs);
      }
      req.end();
    })();
  });
}

interface Pending {
  location: string;
  data: Buffer;
  /** Bytes the daemon acknowledged (the last 202's Range). */
  acked: number;
}

/** Every file under blobs/ whose bytes do not hash to its name. */
async function badBlobs(paths: Paths): Promise<string[]> {
  const bad: string[] = [];
  const base = paths.blobsDir();
  for (const alg of await readdir(base).catch(() => [])) {
    for (const prefix of await readdir(join(base, alg))) {
      for (const hex of await readdir(join(base, alg, prefix))) {
        const bytes = await readFile(join(base, alg, prefix, hex));
        if (sha(bytes) !== `${alg}:${hex}`) bad.push(`${alg}:${hex}`);
      }
    }
  }
  return bad;
}

test(`kill -9 mid-upload and mid-PUT, ${ROUNDS} times: nothing acknowledged is lost, no bad blob is visible, uploads resume`, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-crash-'));
  const paths = new Paths(root);
  const ackedBlobs = new Map<string, Buffer>();
  const ackedManifests = new Map<string, Built>(); // tag → manifest
  let pending: Pending | undefined;
  let removedTemps = 0;
  let resumed = 0;
  const inFlight = { monolithic: 0, chunked: 0, manifest: 0 };
  // One image whose blobs are pushed (and acknowledged) once; each manifest PUT annotates it anew.
  const base = image({ layers: [randomBytes(2048)] });
  let daemon: DaemonProcess | undefined;
  let verifiedBlobs = 0;
  let verifiedManifests = 0;

  /** Fetches acknowledged blobs and manifests from the `fromBlob`th / `fromManifest`th on (Maps keep insertion order). */
  async function verify(url: string, fromBlob: number, fromManifest: number): Promise<void> {
    for (const digest of [...ackedBlobs.keys()].slice(fromBlob)) {
      const r = await fetch(`${url}/v2/${REPO}/blobs/${digest}`);
      assert.equal(r.status, 200, `acknowledged blob ${digest}`);
      assert.equal(sha(Buffer.from(await r.arrayBuffer())), digest);
    }
    for (const [tag, m] of [...ackedManifests].slice(fromManifest)) {
      const r = await fetch(`${url}/v2/${REPO}/manifests/${tag}`, { headers: { Accept: m.mediaType } });
      assert.equal(r.status, 200, `acknowledged manifest ${tag}`);
      assert.equal(r.headers.get('docker-content-digest'), m.digest);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(m.body));
    }
  }

  try {
    for (let round = 0; round < ROUNDS; round++) {
      daemon = await spawnDaemon(root);
      const url = daemon.url;
      removedTemps += Number(daemon.started.removedTemps ?? 0);
      // Temp files of dead processes are gone; only the live daemon's may exist.
      for (const e of await readdir(paths.tmpDir())) assert.equal(tempOwner(e)?.pid, daemon.pid, `stale temp ${e}`);

      // What was acknowledged before this kill is served, byte for byte (all of it on the last round).
      await verify(url, round === ROUNDS - 1 ? 0 : verifiedBlobs, round === ROUNDS - 1 ? 0 : verifiedManifests);
      verifiedBlobs = ackedBlobs.size;
      verifiedManifests = ackedManifests.size;

      // The chunked upload cut by the last kill resumes from the offset the new daemon reports.
      if (pending) {
        const p = pending;
        pending = undefined;
        const status = await fetch(url + p.location);
        if (status.status === 204) {
          const range = status.headers.get('range')!;
          // `Range: 0-0` reads as 0 bytes or 1 (the protocol cannot say which): try both.
          const reported = Number(range.split('-')[1]) + 1;
          const candidates = range === '0-0' ? [0, 1] : [reported];
          const digest = sha(p.data);
          let done: Response | undefined;
          for (const offset of candidates) {
            assert.ok(offset >= p.acked && offset <= p.data.length, `resumed at ${offset}, acked ${p.acked} of ${p.data.length}`);
            const rest = p.data.subarray(offset);
            const sep = p.location.includes('?') ? '&' : '?';
            done = await fetch(`${url}${p.location}${sep}digest=${digest}`, {
              method: 'PUT',
              body: rest as unknown as BodyInit,
              headers: { 'Content-Type': 'application/octet-stream', ...(rest.length && { 'Content-Range': `${offset}-${p.data.length - 1}` }) },
            });
            if (done.status !== 416) break;
          }
          assert.equal(done!.status, 201, await done!.text());
          assert.equal(done!.headers.get('docker-content-digest'), digest);
          ackedBlobs.set(digest, p.data);
          resumed++;
        } else {
          // Killed inside the finishing PUT after the data moved into the store: the upload is gone, the blob is whole.
          assert.equal(status.status, 404);
        }
      }

      if (round === 0) {
        for (const b of base.blobs) {
          const r = await fetch(`${url}/v2/${REPO}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.data as unknown as BodyInit });
          assert.equal(r.status, 201);
          ackedBlobs.set(b.digest, b.data);
        }
      }

      // Three loops run until the kill; each records what the daemon acknowledged.
      let killed = false;
      const state = { monolithic: false, chunked: false, manifest: false };
      const loops = [
        (async () => {
          while (!killed) {
            const b: Blob = blob(randomBytes(32 * 1024 + Math.floor(Math.random() * 64 * 1024)));
            state.monolithic = true;
            const r = await slowRequest(`${url}/v2/${REPO}/blobs/uploads/?digest=${b.digest}`, 'POST', { 'Content-Type': 'application/octet-stream' }, b.data, 8192, 2);
            state.monolithic = false;
            if (r.status === 201) ackedBlobs.set(b.digest, b.data);
            else assert.fail(`monolithic upload answered ${r.status}`);
          }
        })(),
        (async () => {
          while (!killed) {
            const data = randomBytes(48 * 1024 + Math.floor(Math.random() * 16 * 1024));
            const start = await fetch(`${url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
            assert.equal(start.status, 202);
            let location = start.headers.get('location')!;
            const p: Pending = { location, data, acked: 0 };
            pending = p;
            const chunk = 8 * 1024;
            for (let off = 0; off < data.length; off += chunk) {
              const part = data.subarray(off, off + chunk);
              state.chunked = true;
              const r = await slowRequest(url + location, 'PATCH', { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + part.length - 1}` }, part, 4096, 1);
              state.chunked = false;
              assert.equal(r.status, 202);
              location = String(r.headers.location);
              p.location = location;
              p.acked = off + part.length;
              await sleep(3);
            }
            const digest = sha(data);
            const sep = location.includes('?') ? '&' : '?';
            state.chunked = true;
            const r = await fetch(`${url}${location}${sep}digest=${digest}`, { method: 'PUT' });
            state.chunked = false;
            assert.equal(r.status, 201);
            pending = undefined;
            ackedBlobs.set(digest, data);
          }
        })(),
        (async () => {
          let i = 0;
          while (!killed) {
            const m = image({ layers: [], annotations: { round: String(round), i: String(i++) } });
            // Same config and layer as `base`: rebuild with base's blobs so only the annotations differ.
            const json = JSON.parse(base.body.toString());
            json.annotations = { round: String(round), i: String(i) };
            const body = Buffer.from(JSON.stringify(json));
            const built: Built = { ...m, body, digest: sha(body), size: body.length, blobs: base.blobs };
            const tag = `r${round}-${i}`;
            state.manifest = true;
            const r = await slowRequest(`${url}/v2/${REPO}/manifests/${tag}`, 'PUT', { 'Content-Type': built.mediaType }, body, 256, 1);
            state.manifest = false;
            assert.equal(r.status, 201);
            ackedManifests.set(tag, built);
          }
        })(),
      ].map((p) => p.catch((err) => (killed ? undefined : Promise.reject(err))));

      await sleep(20 + Math.random() * 200);
      killed = true;
      for (const k of Object.keys(state) as (keyof typeof state)[]) if (state[k]) inFlight[k]++;
      await daemon.kill9();
      daemon = undefined;
      await Promise.all(loops);

      // Straight after the kill, before any restart: no blob whose bytes differ from its name.
      assert.deepEqual(await badBlobs(paths), []);
    }
    // And the tree the kills left is valid as a whole.
    const checked = await fsckJson(root);
    assert.equal(checked.code, 0, JSON.stringify(checked.report.findings));
    t.diagnostic(`kills landing mid-request: ${JSON.stringify(inFlight)}; uploads resumed: ${resumed}; temp files removed at start: ${removedTemps}`);
    assert.ok(removedTemps > 0, 'some kill left a temp file for the next start to remove');
    assert.ok(resumed > 0, 'some chunked upload was cut and resumed');
  } finally {
    await daemon?.kill9();
    await rm(root, { recursive: true, force: true });
  }
});
