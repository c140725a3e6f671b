// CNCF Distribution (Debian's `docker-registry`, 2.8) on a free port over a temp
// root, no auth, delete on: a real peer for tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DISTRIBUTION = '/usr/bin/docker-registry';
/** Why Distribution cannot run here, or false. In CI it must (.ci/run installs it). */
export const noDistribution: string | false = existsSync(DISTRIBUTION) ? false : `no ${DISTRIBUTION}: apt-get install -y docker-registry (.ci/run does)`;

export interface Distribution {
  url: string;
  host: string;
  stop(): Promise<void>;
}

export async function startDistribution(): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-distribution-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(config, ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'root')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'));
  const child: ChildProcess = spawn(DISTRIBUTION, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/v2/`).then((r) => r.status === 200, () => false);
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((ok) => child.once('exit', ok));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
