// Helpers for the auth tests: htpasswd files with bcrypt entries (written the way
// `htpasswd -B` writes them, `$2y$`), rules files, Basic headers, and tokens from a
// daemon's token endpoint.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hashSync } from '@node-rs/bcrypt';
import { createLogger } from '../../daemon/log.js';
import type { Logger } from 'pino';

/** Writes an htpasswd file (cost 4 keeps the tests quick; htpasswd -B uses 5) and a rules file; returns their paths. */
export async function authFiles(users: Record<string, string>, rules?: unknown): Promise<{ dir: string; htpasswd: string; rules?: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-auth-'));
  const htpasswd = join(dir, 'htpasswd');
  const lines = Object.entries(users).map(([u, p]) => `${u}:${hashSync(p, 4).replace(/^\$2b\$/, '$2y$')}`);
  await writeFile(htpasswd, `${lines.join('\n')}\n`);
  if (rules === undefined) return { dir, htpasswd };
  const rulesFile = join(dir, typeof rules === 'string' ? 'rules.yaml' : 'rules.json');
  await writeFile(rulesFile, typeof rules === 'string' ? rules : JSON.stringify(rules));
  return { dir, htpasswd, rules: rulesFile };
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Asks the daemon's /token for `scopes`, as `creds` or anonymously; returns the parsed reply. */
export async function fetchToken(
  url: string,
  scopes: string[],
  creds?: { user: string; password: string },
  service = 'cairn',
): Promise<{ status: number; token?: string; body: any }> {
  const q = new URLSearchParams({ service });
  for (const s of scopes) q.append('scope', s);
  const res = await fetch(`${url}/token?${q}`, { headers: creds ? { Authorization: basic(creds.user, creds.password) } : {} });
  const body: any = await res.json();
  return { status: res.status, token: body.token, body };
}

/** The claims of a JWT, unverified (for asserting what was issued). */
export function claims(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** A logger that keeps every line in memory, at level info and up, for grepping. */
export function capturedLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('debug', sink), text: () => chunks.join('') };
}
