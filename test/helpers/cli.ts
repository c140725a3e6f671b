// Running the built `cairn` CLI as a child process: one-shot commands (fsck, gc)
// to completion, and `cairn serve` as a real daemon process that a test can kill -9.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { Client } from './client.js';

export const CLI = fileURLToPath(new URL('../../cairn.cjs', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cairn ...args` to its exit: the exit code and what it printed. Standard input
 * gets `stdin` and is closed (a `--keep -` reads it). A run that was killed (by
 * `timeout`, say) rejects rather than pass for an exit code.
 */
export async function cairn(args: string[], opts: { cwd?: string; stdin?: string; timeout?: number } = {}): Promise<CliRun> {
  return new Promise((ok, fail) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: opts.cwd, timeout: opts.timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(err);
      ok({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin!.end(opts.stdin ?? '');
  });
}

/** `cairn fsck --json` over a root: the exit code and the parsed report. */
export async function fsckJson(root: string, ...args: string[]): Promise<{ code: number; report: any; stderr: string }> {
  const r = await cairn(['fsck', '--root', root, '--json', ...args]);
  let report: unknown;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`fsck printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

export interface DaemonProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** The start-up log line (version, root, removedTemps). */
  started: Record<string, unknown>;
  /** Log lines at level error or above, as they come (a test can show why a request failed). */
  errors: string[];
  /** SIGKILL, then wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node dist/cairn.cjs serve` over `root` on a free port; resolves once its JSON log
 * names the address. `wrap` runs it under another command (strace); signals then go to
 * the daemon, the wrapper's child, and the wrapper is waited for.
 */
export async function spawnDaemon(root: string, extra: string[] = [], opts: { wrap?: string[] } = {}): Promise<DaemonProcess> {
  const argv = [process.execPath, CLI, 'serve', '--root', root, '--listen', '127.0.0.1:0', '--log-level', 'info', ...extra];
  const [command, ...args] = [...(opts.wrap ?? []), ...argv] as [string, ...string[]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const lines = createInterface({ input: child.stdout! });
  let started: Record<string, unknown> = {};
  const address = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`daemon did not start in 15s: ${stderr}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`daemon exited (${code}) before listening: ${stderr}`));
    });
    lines.on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.removedTemps !== undefined) started = rec;
      if (typeof rec.address === 'string') {
        clearTimeout(timer);
        ok(rec.address);
      }
    });
  });
  const errors: string[] = [];
  // Keep draining stdout so the child never blocks on a full pipe, keeping the errors.
  lines.on('line', (line) => {
    if (/"level":(5\d|60)/.test(line)) errors.push(line);
  });
  // strace -o FILE blocks fatal signals: the daemon is its child, the one listed in /proc.
  const pid = opts.wrap ? Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]) : child.pid!;
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, sig);
    await exited;
  };
  return { url: `http://${address}`, pid, child, started, errors, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

/** Two daemon processes over one fresh temp root, and a client for each. */
export interface DaemonPair {
  root: string;
  a: DaemonProcess;
  b: DaemonProcess;
  ca: Client;
  cb: Client;
  /** Stops B (SIGTERM, or SIGKILL with `kill9`) and starts it again over the same root. */
  restartB(how?: 'stop' | 'kill9'): Promise<void>;
}

/**
 * A DaemonPair for all the tests of a file: started before them, stopped and its root
 * removed after. `args` are more `cairn serve` flags for each.
 */
export function daemonPairForFile(prefix: string, args: { a?: string[]; b?: string[] } = {}): DaemonPair {
  const pair = {
    async restartB(how: 'stop' | 'kill9' = 'stop') {
      await (how === 'kill9' ? pair.b.kill9() : pair.b.stop());
      pair.b = await spawnDaemon(pair.root, args.b);
      pair.cb = new Client(pair.b.url);
    },
  } as DaemonPair;
  before(async () => {
    pair.root = await mkdtemp(join(tmpdir(), prefix));
    [pair.a, pair.b] = await Promise.all([spawnDaemon(pair.root, args.a), spawnDaemon(pair.root, args.b)]);
    pair.ca = new Client(pair.a.url);
    pair.cb = new Client(pair.b.url);
  });
  after(async () => {
    await Promise.all([pair.a?.stop(), pair.b?.stop()]);
    if (pair.root) await rm(pair.root, { recursive: true, force: true });
  });
  return pair;
}
