// Starting and stopping the two registries under test, each on a free port over a
// fresh temp root: Cairn as the real CLI in a child process, CNCF Distribution as
// `docker-registry serve CONFIG` with a config written here. Peak RSS comes from
// /proc/<pid>/status (VmHWM), reset per scenario through /proc/<pid>/clear_refs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { freePort } from '../test/helpers/net.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool } from '../test/clients/tools.js';
import { Client } from './http.js';

export type Kind = 'cairn' | 'distribution';

export interface Server {
  kind: Kind;
  url: string;
  root: string;
  client: Client;
  /** Distribution's config file (its GC reads it). */
  config?: string;
  /** Distribution's command (its GC is a subcommand). */
  binary?: string;
  pid(): number;
  /** Starts measuring a new peak; false when the kernel would not reset it (the peak then counts from the start). */
  resetPeak(): boolean;
  /** Peak resident set in MiB since the last reset, or undefined when the process is gone. */
  peakRssMiB(): number | undefined;
  /** CPU seconds (user + system, all threads) the process has used so far. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
  /** Starts the same server again over the same root and port (Distribution, after its offline GC). */
  restart(): Promise<void>;
}

/** The `cairn` command as installed (its entry, dist/cairn.cjs). */
export const CLI = fileURLToPath(new URL('../cairn.cjs', import.meta.url));

/** A CNCF Distribution build to compare against: its command and the version it reports. */
export interface Peer {
  /** Short name for the table: `2.8`, `3`. */
  label: string;
  binary: string;
  version: string;
}

/**
 * The peers found here: Distribution 2.8 (`docker-registry`, required: the bench
 * exits with install instructions without it) and Distribution 3 (`registry`, built
 * by .ci/tools.sh; skipped with a note when absent). The bench installs nothing.
 */
export function findPeers(log: (msg: string) => void): Peer[] {
  const version = (binary: string) => {
    const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    return r.error || r.status !== 0 ? undefined : r.stdout.trim();
  };
  const v2 = version('docker-registry');
  if (!v2) {
    process.stderr.write(
      'bench: CNCF Distribution (`docker-registry`) is not installed.\n' +
        'Install it first, e.g. `sudo apt-get install docker-registry` (Debian/Ubuntu), then run the bench again.\n',
    );
    process.exit(2);
  }
  const peers: Peer[] = [{ label: '2.8', binary: 'docker-registry', version: v2 }];
  const v3binary = findTool('registry');
  const v3 = v3binary && version(v3binary);
  if (v3binary && v3) peers.push({ label: '3', binary: v3binary, version: v3 });
  else log('bench: Distribution 3 (`registry`) not found: build it with `bash .ci/tools.sh`; comparing with 2.8 only');
  return peers;
}

export interface CairnOptions {
  /** Directory for `node --cpu-prof` output; no profiling when absent. */
  cpuProfDir?: string;
  /** More flags for Cairn's node (an A/B of V8 or libuv settings). */
  nodeArgs?: string[];
  /** More `cairn serve` flags (--auth …). */
  serveArgs?: string[];
  /** The root's folder name under `base` (default cairn-root). */
  rootName?: string;
}

export async function startCairn(base: string, opts: CairnOptions = {}): Promise<Server> {
  const root = join(base, opts.rootName ?? 'cairn-root');
  const port = await freePort();
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const args = [...prof, ...(opts.nodeArgs ?? []), CLI, 'serve', '--root', root, '--listen', `127.0.0.1:${port}`, '--log-level', 'silent', ...(opts.serveArgs ?? [])];
  return managed('cairn', root, port, () => spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
}

/** `extra`: more top-level config lines (an `auth:` section). */
export async function startDistribution(base: string, peer: Peer, opts: { extra?: string[]; rootName?: string } = {}): Promise<Server> {
  const root = join(base, opts.rootName ?? 'distribution-root');
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const config = join(base, `${opts.rootName ?? 'distribution'}.yml`);
  // The brief's config plus the in-memory blob descriptor cache of Debian's stock
  // /etc/docker/registry/config.yml: Distribution as people run it, not handicapped.
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      '  delete:',
      '    enabled: true',
      '  cache:',
      '    blobdescriptor: inmemory',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  const server = await managed('distribution', root, port, () =>
    spawn(peer.binary, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  server.config = config;
  server.binary = peer.binary;
  return server;
}

async function managed(kind: Kind, root: string, port: number, launch: () => ChildProcess): Promise<Server> {
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let stderr = '';
  let exited: Promise<void>;

  const start = async () => {
    stderr = '';
    child = launch();
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    exited = new Promise((ok) => child.once('exit', () => ok()));
    await waitReady(url, () => child.exitCode !== null || child.signalCode !== null, () => stderr, kind);
  };
  await start();

  const server: Server = {
    kind,
    url,
    root,
    client: new Client(url),
    pid: () => child.pid!,
    resetPeak() {
      try {
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    peakRssMiB: () => peakRssOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async restart() {
      await server.stop();
      await start();
    },
  };
  return server;
}

async function waitReady(url: string, died: () => boolean, stderr: () => string, kind: Kind): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (died()) throw new Error(`${kind} exited during start-up:\n${stderr()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return; // 401: up, with auth on
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${kind} did not answer ${url}/v2/ within 20 s:\n${stderr()}`);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime from /proc/<pid>/stat, in seconds. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** VmHWM from /proc/<pid>/status, in MiB. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function tempBase(): Promise<string> {
  return mkdtemp(join(process.env.BENCH_TMPDIR ?? '/tmp', 'cairn-bench-'));
}
