// Real clients pulling through the cache, each set up the way its docs say: podman
// and skopeo with a registries.conf mirror (a location with a prefix), containerd's
// ctr with a hosts.toml (which sends ?ns=). The upstream is a second Cairn; its own
// address is never given to a client, so every pull goes through the cache.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { realImage, type Built } from '../helpers/images.js';
import { ok, tool } from './tools.js';

const podman = tool('podman', 'apt-get install -y podman (.ci/run does)');
const skopeo = tool('skopeo', 'apt-get install -y skopeo (.ci/run does)');
const ctr = tool('ctr', 'apt-get install -y containerd (.ci/run does)');
const containerd = tool('containerd', 'apt-get install -y containerd (.ci/run does)');

let up: TestDaemon;
let cache: TestDaemon;
let work: string;
let img: Built;

/** registries.conf: `up.test` has no reachable location of its own, only the cache as its mirror. */
async function registriesConf(): Promise<string> {
  const file = join(work, 'registries.conf');
  await writeFile(file, [
    '[[registry]]',
    'prefix = "up.test"',
    'location = "127.0.0.1:9"', // the discard port: nothing answers there
    'insecure = true',
    '[[registry.mirror]]',
    `location = "${cache.host}/up.test"`,
    'insecure = true',
    '',
  ].join('\n'));
  return file;
}

describe('clients pull through the cache', () => {
  before(async () => {
    work = join(tmpdir(), `cairn-pt-${randomUUID().slice(0, 8)}`); // podman's runroot: short
    await mkdir(work);
    up = await startDaemon();
    cache = await startDaemon({ serve: { upstream: [`up.test=${up.url}`] } });
    img = await realImage({ 'hello.txt': 'pulled through the cache\n' });
    await new Client(up.url).pushImage('lib/hello', img, '1');
  });
  after(async () => {
    await cache?.close();
    await up?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('podman pulls up.test/lib/hello:1 through a registries.conf mirror', { skip: podman.skip }, async () => {
    const conf = await registriesConf();
    const env = { HOME: work, CONTAINERS_REGISTRIES_CONF: conf };
    const base = ['--root', join(work, 'podman-root'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
    await ok(podman.path, [...base, 'pull', '-q', 'up.test/lib/hello:1'], { env });
    const digest = (await ok(podman.path, [...base, 'images', '--digests', '--format', '{{.Digest}}'], { env })).trim();
    assert.equal(digest, img.digest);
    assert.deepEqual((await new Client(cache.url).req('GET', '/v2/up.test/lib/hello/tags/list')).json.tags, ['1']);
  });

  test('skopeo copies up.test/lib/hello:1 out through the same mirror', { skip: skopeo.skip }, async () => {
    const conf = await registriesConf();
    const dest = join(work, 'skopeo-out');
    await ok(skopeo.path, ['--registries-conf', conf, '--insecure-policy', 'copy', '--src-tls-verify=false', 'docker://up.test/lib/hello:1', `oci:${dest}:1`], { env: { HOME: work } });
    assert.ok(existsSync(join(dest, 'index.json')));
    const inspect = JSON.parse(await ok(skopeo.path, ['inspect', '--raw', `oci:${dest}:1`]));
    assert.equal(inspect.layers[0].digest, img.blobs[1]!.digest);
  });

  test('ctr fetches up.test/lib/hello:1 through a hosts.toml mirror, which asks with ?ns=', { skip: ctr.skip || containerd.skip }, async () => {
    const dir = join(work, 'containerd');
    await mkdir(join(dir, 'hosts', 'up.test'), { recursive: true });
    await writeFile(join(dir, 'hosts', 'up.test', 'hosts.toml'), [
      'server = "http://127.0.0.1:9"',
      `[host."http://${cache.host}"]`,
      '  capabilities = ["pull", "resolve"]',
      '',
    ].join('\n'));
    const sock = join(dir, 'c.sock');
    await writeFile(join(dir, 'config.toml'), [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '',
    ].join('\n'));
    const daemon: ChildProcess = spawn(containerd.path, ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
    try {
      for (let i = 0; !existsSync(sock); i++) {
        if (i > 200 || daemon.exitCode !== null) throw new Error('containerd did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      await ok(ctr.path, ['--address', sock, 'content', 'fetch', '--hosts-dir', join(dir, 'hosts'), 'up.test/lib/hello:1']);
      const listed = await ok(ctr.path, ['--address', sock, 'content', 'ls', '-q']);
      for (const b of img.blobs) assert.match(listed, new RegExp(b.digest));
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
    }
  });
});
