// A second real client: podman (Debian's 4.3) pushes to Cairn and pulls back. Its
// storage is a private vfs folder, so the test needs no engine and leaves nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { daemonForFile } from '../helpers/daemon.js';
import { realImage, writeOciLayout } from '../helpers/images.js';

const d = daemonForFile();
const c = new Client(d);
let work: string;

function podman(...args: string[]): Promise<string> {
  const full = ['--root', join(work, 'root'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args];
  return new Promise((ok, fail) => {
    execFile('podman', full, { env: { ...process.env, HOME: work } }, (err, stdout, stderr) => {
      if (err) fail(new Error(`podman ${args.join(' ')} failed: ${stderr || err.message}\n(podman is installed by .ci/run: apt-get install -y podman)`));
      else ok(stdout.trim());
    });
  });
}

before(async () => {
  // podman names an oci: image after its path, and image names are lower case.
  work = join(tmpdir(), `cairn-podman-${randomUUID().slice(0, 8)}`); // runroot: at most 50 characters
  await mkdir(work);
});
after(() => rm(work, { recursive: true, force: true }));

test('podman pushes an image, Cairn serves it, podman pulls it back with the same digest', async () => {
  const image = await realImage({ 'hello.txt': 'pushed by podman\n' });
  await writeOciLayout(join(work, 'layout'), [{ image, tag: 'latest' }]);
  const id = await podman('pull', '-q', `oci:${join(work, 'layout')}:latest`);
  await podman('push', '-q', '--tls-verify=false', id, `${d.host}/podman/app:1`);
  await podman('push', '-q', '--tls-verify=false', id, `${d.host}/podman/app:2`); // blobs exist: HEAD, then the manifest only

  const served = await c.req('GET', '/v2/podman/app/manifests/1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(served.status, 200);
  const digest = served.headers.get('docker-content-digest')!;
  assert.deepEqual((await c.req('GET', '/v2/podman/app/tags/list')).json.tags, ['1', '2']);

  await podman('rmi', '-a', '-f');
  await podman('pull', '-q', '--tls-verify=false', `${d.host}/podman/app:1`);
  const pulled = await podman('images', '--digests', '--format', '{{.Repository}} {{.Digest}}');
  assert.equal(pulled, `${d.host}/podman/app ${digest}`);
});
