// Detached schema1 signatures: one file per distinct signature under
// signatures/<alg>/<payload hex>/<id>, named by the hash of its canonical JSON, so
// a repeat lands on an existing name and writes nothing.
import type { Paths } from '../shared/paths.js';
import { atomicWrite, listDir } from '../shared/fsx.js';
import type { Digest } from '../shared/reference.js';
import { type Schema1Signature, canonicalSignature, parseStoredSignature, signatureId } from '../shared/schema1.js';
import { pathExistsSync, readTextSyncOrUndefined } from '../shared/syncfs.js';

export class SignatureStore {
  readonly paths: Paths;

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** Stores the signatures not stored yet; returns how many were new. */
  async add(payload: Digest, signatures: Schema1Signature[]): Promise<number> {
    let added = 0;
    for (const s of signatures) {
      const file = this.paths.signature(payload, signatureId(s));
      if (pathExistsSync(file)) continue;
      await atomicWrite(this.paths.tmpDir(), file, canonicalSignature(s));
      added++;
    }
    return added;
  }

  /** Every stored signature of a payload, sorted by id. */
  async list(payload: Digest): Promise<Schema1Signature[]> {
    const ids = (await listDir(this.paths.signaturesOf(payload)))
      .filter((e) => e.isFile() && /^[a-f0-9]{64}$/.test(e.name))
      .map((e) => e.name)
      .sort();
    const found: Schema1Signature[] = [];
    for (const id of ids) {
      const text = readTextSyncOrUndefined(this.paths.signature(payload, id));
      // A file that is no signature (hand-edited, corrupt) is skipped so the others still
      // serve; fsck is where it gets reported.
      const s = text === undefined ? undefined : parseStoredSignature(text);
      if (s) found.push(s);
    }
    return found;
  }
}
