// An htpasswd file of bcrypt entries (`htpasswd -B`: `user:$2y$…`). bcrypt is slow
// on purpose, so it runs off the event loop (a native binding, on libuv's pool), at
// most CHECKS_AT_ONCE at a time so that file I/O keeps pool threads, and a flood of
// failed sign-ins is refused with 429 rather than queued without end. Clients send
// Basic credentials with every request, so a successful check is remembered for a
// minute under an HMAC of the credentials (never the password itself). An unknown
// user is checked against a dummy hash of the cost the file's entries use, so the
// answer takes as long as for a known one. The file is re-read when it changes.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { RegistryError } from '../../shared/errors.js';

/** The binding, loaded at the first check: the middleware imports this module (parseBasic) even without --auth. */
let binding: Promise<typeof import('@node-rs/bcrypt')> | undefined;
const bcrypt = () => (binding ??= import('@node-rs/bcrypt'));

const REMEMBER_MS = 60_000;
const RECHECK_FILE_MS = 2_000;
const CHECKS_AT_ONCE = 2;
const CHECKS_WAITING = 64;

export function parseHtpasswd(text: string, where: string): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    if (colon <= 0) throw new Error(`${where}:${i + 1}: expected user:hash`);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new Error(`${where}:${i + 1}: the entry for "${user}" is not bcrypt; create entries with "htpasswd -B"`);
    }
    users.set(user, hash);
  });
  return users;
}

export class Htpasswd {
  private readonly file: string;
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  private readonly remembered = new Map<string, number>(); // hmac → until
  private readonly hmacKey = randomBytes(32);
  /** A hash of nothing anyone knows, at the cost most entries use: what an unknown user is checked against. */
  private dummy: Promise<string> = Promise.resolve('');
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  private constructor(file: string) {
    this.file = file;
  }

  static async load(file: string): Promise<Htpasswd> {
    const h = new Htpasswd(file);
    await h.refresh(true);
    return h;
  }

  /** Re-reads the file when its mtime moved; a broken edit keeps the previous users. */
  private async refresh(first = false): Promise<void> {
    const now = Date.now();
    if (!first && now - this.checkedAt < RECHECK_FILE_MS) return;
    this.checkedAt = now;
    const s = await stat(this.file);
    if (s.mtimeMs === this.mtimeMs) return;
    try {
      this.users = parseHtpasswd(await readFile(this.file, 'utf8'), this.file);
      this.mtimeMs = s.mtimeMs;
      this.remembered.clear();
      const cost = typicalCost(this.users.values());
      this.dummy = bcrypt().then((b) => b.hash(randomBytes(18).toString('base64'), cost));
    } catch (err) {
      if (first) throw err;
    }
  }

  async verify(user: string, password: string): Promise<boolean> {
    await this.refresh().catch(() => undefined);
    const key = createHmac('sha256', this.hmacKey).update(user).update('\0').update(password).digest('base64');
    const until = this.remembered.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const hash = this.users.get(user);
    // The binding reads $2y$ (PHP/Apache's name for the fixed $2a$) like $2b$.
    const ok = await this.limited(async () => (await bcrypt()).verify(password, hash ?? (await this.dummy)));
    if (!ok || hash === undefined) return false;
    if (this.remembered.size > 10_000) this.remembered.clear();
    this.remembered.set(key, Date.now() + REMEMBER_MS);
    return true;
  }

  /** The hash an unknown user is checked against. */
  dummyHash(): Promise<string> {
    return this.dummy;
  }

  /** Runs one check when fewer than CHECKS_AT_ONCE run; refuses when too many already wait. */
  private async limited<T>(check: () => Promise<T>): Promise<T> {
    if (this.running >= CHECKS_AT_ONCE) {
      if (this.waiting.length >= CHECKS_WAITING) {
        throw new RegistryError('TOOMANYREQUESTS', 'too many sign-ins at once; try again shortly', { headers: { 'Retry-After': '1' } });
      }
      await new Promise<void>((go) => this.waiting.push(go));
    } else this.running++;
    try {
      return await check();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on
      else this.running--;
    }
  }
}

/** The bcrypt cost most of the entries use (`htpasswd -B` writes 5; an empty file: 5). */
function typicalCost(hashes: Iterable<string>): number {
  const counts = new Map<number, number>();
  for (const h of hashes) {
    const cost = Number(h.slice(4, 6));
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 5;
}

/** The user and password of an `Authorization: Basic …` header, or undefined. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
