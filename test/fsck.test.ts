// `cairn fsck` on trees damaged on purpose: each damage is reported by its kind
// name, and `--repair` leaves a tree that fsck then finds clean and that the
// daemon serves. The real CLI runs over a root a real daemon wrote.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Paths } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';
import { cairn, fsckJson } from './helpers/cli.js';
import { Client } from './helpers/client.js';
import { startDaemon } from './helpers/daemon.js';
import { type Built, image, sha256 } from './helpers/images.js';

interface Fixture {
  root: string;
  paths: Paths;
  v1: Built;
  v2: Built;
}

/** A root holding app:v, moved from v1 to v2 (two history entries), written by the real daemon. */
async function fixture(): Promise<Fixture> {
  const d = await startDaemon({ keepRoot: true });
  const c = new Client(d.url);
  const v1 = image({ layers: [`one ${Math.random()}`] });
  const v2 = image({ layers: [`two ${Math.random()}`, `three ${Math.random()}`] });
  await c.pushImage('app', v1, 'v');
  await c.pushImage('app', v2, 'v');
  await d.close();
  return { root: d.root, paths: new Paths(d.root), v1, v2 };
}

const blobFile = (f: Fixture, digest: string) => f.paths.blob(parseDigest(digest));
const kinds = (report: any): string[] => report.findings.map((x: any) => x.kind).sort();

/** Repairs, checks again (clean), and pulls app:v through a fresh daemon: it must be `expected`, every blob whole. */
async function repairAndServe(f: Fixture, expected: Built): Promise<void> {
  const repaired = await fsckJson(f.root, '--repair');
  assert.equal(repaired.code, 0, JSON.stringify(repaired.report.repaired));
  const again = await fsckJson(f.root);
  assert.equal(again.code, 0, JSON.stringify(again.report.findings));
  assert.deepEqual(again.report.findings, []);
  const d = await startDaemon({ root: f.root });
  try {
    const c = new Client(d.url);
    const m = await c.req('GET', '/v2/app/manifests/v', { headers: { Accept: expected.mediaType } });
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('docker-content-digest'), expected.digest);
    for (const b of expected.blobs) {
      const r = await c.req('GET', `/v2/app/blobs/${b.digest}`);
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), b.digest);
    }
  } finally {
    await d.close();
    await rm(f.root, { recursive: true, force: true });
  }
}

test('a tree the daemon wrote is clean: exit 0', async () => {
  const f = await fixture();
  const r = await fsckJson(f.root);
  assert.equal(r.code, 0);
  assert.deepEqual(r.report.findings, []);
  assert.equal(r.report.counts.revisions, 2);
  const human = await cairn(['fsck', '--root', f.root]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /clean/);
  await rm(f.root, { recursive: true, force: true });
});

test('a flipped byte: blob-corrupt; repair quarantines it and the tag falls back to v1', async () => {
  const f = await fixture();
  const layer = f.v2.blobs[1]!;
  const file = blobFile(f, layer.digest);
  const bytes = await readFile(file);
  bytes[0] = bytes[0]! ^ 0xff;
  await writeFile(file, bytes);
  const r = await fsckJson(f.root);
  assert.equal(r.code, 1);
  assert.ok(kinds(r.report).includes('blob-corrupt'), kinds(r.report).join());
  assert.ok(kinds(r.report).includes('tag-current-dangling'));
  await repairAndServe(f, f.v1);
});

test('quarantine keeps the corrupt bytes: nothing is deleted', async () => {
  const f = await fixture();
  const layer = f.v2.blobs[1]!;
  await writeFile(blobFile(f, layer.digest), 'not the layer');
  assert.equal((await fsckJson(f.root, '--repair')).code, 0);
  const runs = await readdir(f.paths.quarantineDir());
  assert.equal(runs.length, 1);
  const moved = f.paths.quarantined(runs[0]!, blobFile(f, layer.digest));
  assert.equal(await readFile(moved, 'utf8'), 'not the layer');
  const note = await fsckJson(f.root);
  assert.equal(note.code, 0);
  assert.ok(note.report.notes.some((n: string) => n.includes('quarantine/')));
  await rm(f.root, { recursive: true, force: true });
});

test('a truncated blob: blob-truncated', async () => {
  const f = await fixture();
  await truncate(blobFile(f, f.v2.blobs[2]!.digest), 3);
  const r = await fsckJson(f.root);
  assert.equal(r.code, 1);
  assert.ok(kinds(r.report).includes('blob-truncated'), kinds(r.report).join());
  await repairAndServe(f, f.v1);
});

test('a missing blob: revision-blob-missing and layer-link-dangling', async () => {
  const f = await fixture();
  await unlink(blobFile(f, f.v2.blobs[1]!.digest));
  const r = await fsckJson(f.root);
  assert.equal(r.code, 1);
  const k = kinds(r.report);
  assert.ok(k.includes('revision-blob-missing') && k.includes('layer-link-dangling'), k.join());
  await repairAndServe(f, f.v1);
});

test('a dangling tag: tag-current-dangling; repair points it at the newest valid history entry', async () => {
  const f = await fixture();
  await writeFile(f.paths.tagCurrent('app', 'v'), sha256('no such manifest'));
  const r = await fsckJson(f.root);
  assert.deepEqual(kinds(r.report), ['tag-current-dangling']);
  await repairAndServe(f, f.v2);
});

test('a revision whose layer link is gone: revision-blob-unlinked; repair links it again', async () => {
  const f = await fixture();
  await unlink(f.paths.layer('app', parseDigest(f.v2.blobs[2]!.digest)));
  const r = await fsckJson(f.root);
  assert.deepEqual(kinds(r.report), ['revision-blob-unlinked']);
  assert.equal(r.report.findings[0].path, `repositories/app/_layers/sha256/${f.v2.blobs[2]!.digest.slice(7)}`);
  await repairAndServe(f, f.v2);
});

test('an unparsable signature file and a current missing from its history', async () => {
  const f = await fixture();
  const dir = f.paths.signaturesOf(parseDigest(f.v2.digest));
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${'a'.repeat(64)}`, 'garbage');
  await unlink(f.paths.tagIndexEntry('app', 'v', parseDigest(f.v2.digest)));
  const r = await fsckJson(f.root);
  assert.deepEqual(kinds(r.report), ['signature-unparsable', 'tag-current-not-in-history', 'tag-log-incomplete']); // the re-created entry is logged too
  const human = await cairn(['fsck', '--root', f.root]);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /signature-unparsable/);
  await repairAndServe(f, f.v2);
});
