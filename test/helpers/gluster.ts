// A one-brick GlusterFS volume on this machine, mounted twice through FUSE: two
// client processes, each with its own caches, as two hosts would have. glusterd is
// bound to 127.0.0.1 from a config of its own; Gluster refuses 127.0.0.1 and
// localhost as a brick host, so the brick is named by this machine's host name
// (which must resolve to a local address). Volume and mounts keep Gluster's defaults.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const GLUSTERD = '/usr/sbin/glusterd';

/** Why Gluster cannot run here, or false. CI must run it (.ci/run installs the packages). */
export function noGluster(): string | false {
  if (!existsSync(GLUSTERD) || !existsSync('/usr/sbin/glusterfs')) return 'glusterd is not installed: apt-get install -y glusterfs-server glusterfs-client (.ci/run does)';
  if (process.getuid?.() !== 0) return 'mounting a Gluster volume needs root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse: this kernel or sandbox cannot mount FUSE';
  return false;
}

export interface Gluster {
  /** The two mounts of the one volume. */
  mounts: [string, string];
  stop(): Promise<void>;
}

async function gluster(...args: string[]): Promise<string> {
  return (await run('gluster', ['--mode=script', ...args], { timeout: 60_000 })).stdout;
}

export async function startGluster(): Promise<Gluster> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-gluster-'));
  const volume = `cairn${process.pid}`;
  const [lib, brick, m1, m2, logs] = ['lib', 'brick', 'm1', 'm2', 'log'].map((d) => join(dir, d)) as [string, string, string, string, string];
  for (const d of [lib, brick, m1, m2, logs]) await mkdir(d);
  const vol = readFileSync('/etc/glusterfs/glusterd.vol', 'utf8')
    .replace(/option working-directory \S+/, `option working-directory ${lib}`)
    .replace(/(\n\s*option transport-type socket)/, '$1\n    option transport.socket.bind-address 127.0.0.1');
  await writeFile(join(dir, 'glusterd.vol'), vol);
  const glusterd = spawn(GLUSTERD, ['-N', '-f', join(dir, 'glusterd.vol'), '-l', join(logs, 'glusterd.log')], { stdio: 'ignore' });
  const mounted: string[] = [];
  const stop = async () => {
    for (const m of mounted) await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
    await gluster('volume', 'stop', volume, 'force').catch(() => undefined);
    await gluster('volume', 'delete', volume).catch(() => undefined);
    await run('pkill', ['-f', `glusterfsd.*${volume}`]).catch(() => undefined);
    glusterd.kill('SIGTERM');
    if (glusterd.exitCode === null) await new Promise((ok) => glusterd.once('exit', ok));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      const up = await gluster('volume', 'list').then(() => true, () => false);
      if (up) break;
      if (i > 100 || glusterd.exitCode !== null) throw new Error(`glusterd did not start (see ${logs})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await gluster('volume', 'create', volume, `${hostname()}:${brick}`, 'force');
    await gluster('volume', 'start', volume);
    for (const m of [m1, m2]) {
      await run('glusterfs', [`--volfile-server=${hostname()}`, `--volfile-id=${volume}`, '-l', join(logs, `${m.slice(-2)}.log`), m], { timeout: 60_000 });
      mounted.push(m);
    }
    return { mounts: [m1, m2], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
