// buildah against the real daemon: an image built from scratch (a file copied in, a
// label set), pushed, then pulled back into an empty store and inspected. Each run
// uses storage of its own (vfs, under a temp folder), so nothing outside it changes.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { ok, tool } from './tools.js';

const buildah = tool('buildah', 'apt-get install -y buildah (.ci/run does)');

describe('buildah', { skip: buildah.skip || (process.getuid?.() !== 0 && !process.env.CI ? 'buildah here needs root' : false) }, () => {
  let d: TestDaemon;
  let work: string;
  const b = (store: string, ...args: string[]) =>
    ok(buildah.path, ['--root', join(work, store, 'root'), '--runroot', join(work, store, 'run'), '--storage-driver', 'vfs', ...args], {
      cwd: work,
      env: { HOME: work, BUILDAH_ISOLATION: 'chroot' },
    });
  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-buildah-'));
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('build from scratch and push; pull back into an empty store and inspect', async () => {
    await writeFile(join(work, 'hello.txt'), 'built by buildah\n');
    const ctr = (await b('builder', 'from', 'scratch')).trim();
    await b('builder', 'copy', ctr, 'hello.txt', '/hello.txt');
    await b('builder', 'config', '--label', 'org.example.built-by=cairn-test', ctr);
    await b('builder', 'commit', ctr, 'cairn-buildah:v1');
    await b('builder', 'push', '--tls-verify=false', 'cairn-buildah:v1', `docker://${d.host}/built/app:v1`);

    const c = new Client(d);
    assert.deepEqual((await c.req('GET', '/v2/built/app/tags/list')).json.tags, ['v1']);
    await b('fresh', 'pull', '--tls-verify=false', `docker://${d.host}/built/app:v1`);
    const inspected = JSON.parse(await b('fresh', 'inspect', '--type', 'image', `${d.host}/built/app:v1`));
    assert.equal(inspected.OCIv1.config.Labels['org.example.built-by'], 'cairn-test');
    const digest = (await c.req('HEAD', '/v2/built/app/manifests/v1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).headers.get('docker-content-digest');
    assert.equal(inspected.FromImageDigest, digest);
  });
});
