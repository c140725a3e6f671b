// Upload ids that carry their own proof. Starting an upload writes nothing: the id is
// a UUID (version 8) whose first half is random and whose second half is an HMAC of
// that half and the repository's name, under a key kept in the root. Any daemon on
// the root can tell an id it (or another) issued for this repository from a made-up
// one, so a session needs a folder only once its first bytes arrive, and a
// monolithic upload (POST, then one PUT with the body) never needs one.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createOnce } from '../shared/fsx.js';
import type { Paths } from '../shared/paths.js';
import { isCode } from '../shared/syncfs.js';
import { readFileSync } from 'node:fs';

const KEY_BYTES = 32;

export class UploadIds {
  private key: Buffer | undefined;

  constructor(private readonly paths: Paths) {}

  /** A new id for an upload into `name`; the root's key is made on first use. */
  async issue(name: string): Promise<string> {
    const key = this.loadKey() ?? (await this.makeKey());
    const id = randomBytes(16);
    id[6] = (id[6]! & 0x0f) | 0x80; // version 8: a UUID of custom layout
    this.mac(key, name, id).copy(id, 8);
    id[8] = (id[8]! & 0x3f) | 0x80; // the RFC 9562 variant
    return format(id);
  }

  /**
   * Makes the key now if the root has none, so that starting an upload never writes:
   * a disk that fills later still lets pushes begin. A root that cannot be written
   * now (full, read-only) gets its key at the first POST that can.
   */
  async prepare(): Promise<void> {
    if (!this.loadKey()) await this.makeKey().catch(() => undefined);
  }

  /** True when `id` was issued for `name` by a daemon on this root. */
  issued(name: string, id: string): boolean {
    const bytes = Buffer.from(id.replace(/-/g, ''), 'hex');
    if (bytes.length !== 16 || bytes[6]! >> 4 !== 8) return false;
    const key = this.loadKey();
    if (!key) return false;
    const want = this.mac(key, name, bytes);
    want[0] = (want[0]! & 0x3f) | 0x80;
    return timingSafeEqual(want, bytes.subarray(8, 16));
  }

  private mac(key: Buffer, name: string, id: Buffer): Buffer {
    return createHmac('sha256', key).update(name).update('\0').update(id.subarray(0, 8)).digest().subarray(0, 8);
  }

  /** The key, read inline once (a few bytes the kernel holds), or undefined when no daemon has made one yet. */
  private loadKey(): Buffer | undefined {
    if (this.key) return this.key;
    try {
      return (this.key = checkKey(readFileSync(this.paths.uploadKey()), this.paths.uploadKey()));
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  private async makeKey(): Promise<Buffer> {
    return (this.key = checkKey(await createOnce(this.paths.tmpDir(), this.paths.uploadKey(), randomBytes(KEY_BYTES), 0o600), this.paths.uploadKey()));
  }
}

function checkKey(key: Buffer, file: string): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`${file}: expected a ${KEY_BYTES}-byte key, found ${key.length} bytes`);
  return key;
}

function format(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
