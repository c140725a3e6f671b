// The real clients the suites in this folder drive: found on PATH, or in the cache
// `.ci/tools.sh` builds them into (CAIRN_TOOLS, default /var/cache/cairn-tools). A
// suite skips, saying why, only when its tool is missing and CI is not set; in CI a
// missing tool fails the suite.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const CACHE = process.env.CAIRN_TOOLS ?? '/var/cache/cairn-tools';

/** The path of `binary`, or undefined. */
export function findTool(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  if (!existsSync(CACHE)) return undefined;
  for (const entry of readdirSync(CACHE).sort().reverse()) {
    if (!entry.endsWith('.partial') && existsSync(join(CACHE, entry, binary))) return join(CACHE, entry, binary);
  }
  return undefined;
}

/** `{ path }` when the tool is here; `{ skip }` with the reason when not (never in CI: that throws). */
export function tool(binary: string, install: string): { path: string; skip: false } | { path: string; skip: string } {
  const path = findTool(binary);
  if (path) return { path, skip: false };
  if (process.env.CI) throw new Error(`${binary} is not installed, and CI must run its suite: ${install}`);
  return { path: binary, skip: `${binary} is not installed: ${install}` };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(command: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: string; timeout?: number } = {}): Promise<Run> {
  return new Promise((ok) => {
    const child = execFile(
      command,
      args,
      { env: { ...process.env, ...opts.env }, cwd: opts.cwd, timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        ok({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a client and returns its stdout; fails the test with its output when it exits non-zero. */
export async function ok(command: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(command, args, opts);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
