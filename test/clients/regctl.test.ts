// regctl (regclient) against the real daemon. regctl is strict about the spec, so
// its everyday workflow is a check of the answers themselves: an image copied in,
// tags listed, a manifest read back raw by digest (the exact bytes), an artifact put
// on an image and listed as its referrer, and a tag deleted while another tag on the
// same revision stays.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { type Built, realImage, sha256 } from '../helpers/images.js';
import { ok, tool } from './tools.js';

const regctl = tool('regctl', 'go install github.com/regclient/regclient/cmd/regctl@v0.11.7 (.ci/tools.sh does)');

describe('regctl', { skip: regctl.skip }, () => {
  let d: TestDaemon;
  let work: string;
  let img: Built;
  const r = (...args: string[]) => ok(regctl.path, args, { cwd: work, env: { HOME: work } });
  const ref = (x: string) => `${d.host}/${x}`;
  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-regctl-'));
    await r('registry', 'set', '--tls', 'disabled', d.host);
    img = await realImage({ 'hello.txt': 'regctl\n' });
    await new Client(d).pushImage('regctl/src', img, 'v1');
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('image copy, then tag ls of both repositories', async () => {
    await r('image', 'copy', ref('regctl/src:v1'), ref('regctl/dst:v1'));
    await r('image', 'copy', ref('regctl/src:v1'), ref('regctl/dst:also'));
    assert.deepEqual((await r('tag', 'ls', ref('regctl/dst'))).trim().split('\n'), ['also', 'v1']);
    assert.deepEqual((await r('tag', 'ls', ref('regctl/src'))).trim().split('\n'), ['v1']);
  });

  test('manifest get --format raw-body by digest: the exact bytes pushed', async () => {
    const raw = await r('manifest', 'get', ref(`regctl/dst@${img.digest}`), '--format', 'raw-body');
    assert.equal(sha256(raw), img.digest);
    assert.equal(raw, img.body.toString());
  });

  test('artifact put with a subject, then artifact list finds it (filtered by artifactType)', async () => {
    await writeFile(join(work, 'sbom.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3' }));
    await r('artifact', 'put', '--artifact-type', 'application/spdx+json', '--subject', ref('regctl/dst:v1'), '-f', join(work, 'sbom.json'), '-m', 'application/spdx+json');
    await writeFile(join(work, 'note.txt'), 'a note');
    await r('artifact', 'put', '--artifact-type', 'application/vnd.cairn.note', '--subject', ref('regctl/dst:v1'), '-f', join(work, 'note.txt'));
    const all = JSON.parse(await r('artifact', 'list', ref('regctl/dst:v1'), '--format', '{{json .}}'));
    assert.deepEqual(all.descriptors.map((x: { artifactType: string }) => x.artifactType).sort(), ['application/spdx+json', 'application/vnd.cairn.note']);
    const sboms = JSON.parse(await r('artifact', 'list', ref('regctl/dst:v1'), '--filter-artifact-type', 'application/spdx+json', '--format', '{{json .}}'));
    assert.equal(sboms.descriptors.length, 1);
    const served = await new Client(d).req('GET', `/v2/regctl/dst/referrers/${img.digest}`);
    assert.equal(served.json.manifests.length, 2, 'both are referrers in the registry');
  });

  test('tag delete removes that tag only; the revision stays under the other tag', async () => {
    await r('tag', 'delete', ref('regctl/dst:also'));
    assert.deepEqual((await r('tag', 'ls', ref('regctl/dst'))).trim().split('\n'), ['v1']);
    const still = await new Client(d).req('GET', `/v2/regctl/dst/manifests/${img.digest}`, { headers: { Accept: img.mediaType } });
    assert.equal(still.status, 200);
    assert.equal((await r('image', 'digest', ref('regctl/dst:v1'))).trim(), img.digest);
  });
});
