// An htpasswd file of bcrypt entries (`htpasswd -B`: `user:$2y$…`), checked with
// bcryptjs. bcrypt is slow on purpose and clients send Basic credentials with every
// request, so a successful check is remembered for a minute under an HMAC of the
// credentials (never the password itself). The file is re-read when it changes.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/** bcryptjs, loaded at the first check: the middleware imports this module (parseBasic) even without --auth. */
let bcryptjs: Promise<typeof import('bcryptjs').default> | undefined;
const bcrypt = () => (bcryptjs ??= import('bcryptjs').then((m) => m.default));

const REMEMBER_MS = 60_000;
const RECHECK_FILE_MS = 2_000;
// Compared against when the user is unknown, so the answer takes as long either way.
const DUMMY_HASH = '$2b$10$UgYJsdUvjVd96uosGmL6uei6LqXdgchiwCX.h8wbbGw1bIsP6NIN.';

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
    // bcryptjs reads $2y$ (PHP/Apache's name for the fixed $2a$) like $2b$.
    const ok = await (await bcrypt()).compare(password, hash ?? DUMMY_HASH);
    if (!ok || hash === undefined) return false;
    if (this.remembered.size > 10_000) this.remembered.clear();
    this.remembered.set(key, Date.now() + REMEMBER_MS);
    return true;
  }
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
