// Manifest revisions and the immutable-reference rules (docs/api.md): a PUT stores a
// revision and moves tags, never destroys; the three DELETEs unlink.
import { digestOf, sameDigest } from '../shared/digest.js';
import { RegistryError } from '../shared/errors.js';
import { atomicWriteAll } from '../shared/fsx.js';
import { type Manifest, MediaTypes, isSchema1, parseManifest } from '../shared/manifest.js';
import { type Digest, type Reference, digestString } from '../shared/reference.js';
import { type Schema1Signature, checkSchema1Target, formatOf, openSchema1, prettyJws, sameFormat } from '../shared/schema1.js';
import type { BlobStore } from './blobs.js';
import type { ManifestCache } from './cache.js';
import type { Repositories } from './repository.js';
import type { SignatureStore } from './signatures.js';

export interface Revision {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Schema1: the JWS as served (payload + every stored signature), built when resolved. */
  body?: Buffer;
}

export class ManifestStore {
  readonly repos: Repositories;
  readonly blobs: BlobStore;
  readonly signatures: SignatureStore;
  /** Manifest bytes this daemon has served; none for a one-shot command. */
  private readonly cache: ManifestCache | undefined;

  constructor(repos: Repositories, blobs: BlobStore, signatures: SignatureStore, cache?: ManifestCache) {
    this.repos = repos;
    this.blobs = blobs;
    this.signatures = signatures;
    this.cache = cache;
  }

  /**
   * Stores a revision and moves `tags` to it. `expected` is the digest named in the URL,
   * if any. `onDemand`: what it references may be absent (a pull-through repository
   * fetches blobs and children when a client asks for them).
   */
  async put(
    name: string,
    body: Buffer,
    contentType: string | undefined,
    expected: Digest | undefined,
    tags: string[],
    opts: { onDemand?: boolean } = {},
  ): Promise<{ digest: Digest; manifest: Manifest }> {
    let manifest = parseManifest(body, contentType);
    let content = body;
    let signatures: Schema1Signature[] = [];
    if (manifest.kind === 'schema1') {
      // Schema1: the payload is the content (hashed, stored as the blob); signatures are kept apart.
      ({ payload: content, signatures } = await openSchema1(body, manifest.mediaType === MediaTypes.schema1));
      manifest = parseManifest(content, manifest.mediaType);
      checkSchema1Target(manifest.json, name, tags);
    }
    const digest = digestOf(content, expected?.algorithm ?? 'sha256');
    if (expected && !sameDigest(expected, digest)) {
      throw new RegistryError('DIGEST_INVALID', `manifest has digest ${digestString(digest)}, not ${digestString(expected)}`);
    }
    if (manifest.kind === 'schema1') manifest = await this.checkSignatureFormat(digest, manifest, signatures);
    // The manifest's own blob and revision link are touched beside the references (one
    // wait, not three); they are written only once the references hold. A touch for a
    // manifest that is then refused costs nothing but a fresher mtime.
    const [, stored, linked] = await Promise.all([
      opts.onDemand ? undefined : this.checkReferences(name, manifest),
      this.blobs.touch(digest),
      this.repos.touchLinkedRevision(name, digest, manifest.mediaType),
    ]);

    if (!stored && !linked && !signatures.length) {
      // A new revision: its blob and its link land in one commit, the blob renamed
      // first, made durable by the fsync that ends this PUT (below).
      const files = [this.blobs.file(digest, content), this.repos.revisionFile(name, digest, manifest.mediaType)];
      await atomicWriteAll(this.repos.paths.tmpDir(), files, { sync: false });
    } else {
      if (!stored) await this.blobs.write(digest, content);
      if (signatures.length) await this.signatures.add(digest, signatures);
      if (!linked) await this.repos.linkRevision(name, digest, manifest.mediaType);
    }
    if (manifest.subject) await this.repos.linkReferrer(name, manifest.subject, digest, { sync: false });
    for (const tag of tags) await this.repos.setTag(name, tag, digest);
    // Every PUT ends with an fsync after all it wrote or found in place: what it found
    // may be a concurrent identical PUT's renames, not yet synced, and this 201 must
    // not get ahead of them. One fsync commits every rename before it (fsx.atomicWriteAll);
    // a tag's (setTag always ends with one) is that fsync, else the revision link's folder's.
    if (!tags.length) await this.repos.syncRevision(name, digest);
    return { digest, manifest };
  }

  /**
   * New signatures must cut the payload where the stored ones do, or the merged JWS
   * would not parse for Docker clients. Returns the manifest with the media type it
   * is served with: signed once any signature is stored.
   */
  private async checkSignatureFormat(digest: Digest, m: Manifest, signatures: Schema1Signature[]): Promise<Manifest> {
    const [stored] = await this.signatures.list(digest);
    if (stored && signatures[0] && !sameFormat(formatOf(stored), formatOf(signatures[0]))) {
      const { length } = formatOf(stored);
      throw new RegistryError('MANIFEST_INVALID', `this payload's stored signatures use formatLength ${length}; new signatures must use the same format`);
    }
    return { ...m, mediaType: stored || signatures.length ? MediaTypes.schema1Signed : MediaTypes.schema1 };
  }

  private async checkReferences(name: string, m: Manifest): Promise<void> {
    const missing: string[] = [];
    await Promise.all([
      // Touch, not existsSync(): the touch is what tells a concurrent GC that this
      // link, blob or child revision is in use (see fsx.touch).
      ...m.blobs.map(async (d) => {
        if (!(await this.repos.touchLayer(name, d)) || !(await this.blobs.touch(d))) missing.push(digestString(d));
      }),
      ...m.children.map(async (d) => {
        if (!(await this.repos.touchRevision(name, d))) missing.push(digestString(d));
      }),
    ]);
    if (missing.length) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} blob(s) or manifest(s) not in ${name}`, {
        detail: { digests: missing.sort() },
      });
    }
  }

  /** The revision a reference names: a tag's current one, or a digest linked in the repository. */
  async resolve(name: string, ref: Reference): Promise<Revision> {
    const digest = ref.digest ?? (await this.repos.tagCurrent(name, ref.tag));
    if (!digest) throw unknownManifest(`${name}:${ref.tag}`);
    const read = async () => this.served(await this.revision(name, digest, ref.tag));
    if (!this.cache) return read();
    return this.cache.revision(name, digest, this.repos.paths.revision(name, digest), read, (r) => this.blobs.readAll(r.digest));
  }

  /** A revision named by digest, only if it is in the tag's history. */
  async resolveInHistory(name: string, tag: string, digest: Digest): Promise<Revision> {
    if (!(await this.repos.inTagHistory(name, tag, digest))) {
      throw unknownManifest(`${name}:${tag}@${digestString(digest)}`, 'is not in the history of that tag');
    }
    return this.served(await this.revision(name, digest));
  }

  /**
   * A schema1 revision is served as its payload merged with every stored signature,
   * so size and type are those of the merged body (HEAD must build it to know its length).
   */
  private async served(r: Revision): Promise<Revision> {
    if (!isSchema1(r.mediaType)) return r;
    const [payload, stored] = await Promise.all([this.blobs.readAll(r.digest), this.signatures.list(r.digest)]);
    if (!stored.length) return { ...r, mediaType: MediaTypes.schema1, body: payload };
    // The push path refuses a second format; should one slip in (a race), serve the ones that agree.
    const signatures = stored.filter((s) => sameFormat(formatOf(s), formatOf(stored[0]!)));
    const body = prettyJws(payload, signatures);
    return { ...r, mediaType: MediaTypes.schema1Signed, size: body.length, body };
  }

  private async revision(name: string, digest: Digest, tag?: string): Promise<Revision> {
    const [mediaType, size] = await Promise.all([this.repos.revisionMediaType(name, digest), this.blobs.size(digest)]);
    if (mediaType === undefined || size === undefined) throw unknownManifest(tag ? `${name}:${tag}` : `${name}@${digestString(digest)}`);
    return { digest, mediaType, size };
  }

  async body(r: Revision): Promise<Buffer> {
    return r.body ?? this.blobs.readAll(r.digest);
  }

  /** DELETE …/manifests/<digest>: unlink from the repository, every tag history, and referrers. */
  async deleteRevision(name: string, digest: Digest): Promise<void> {
    const r = await this.revision(name, digest);
    for (const tag of await this.repos.listTags(name)) {
      await this.repos.withTagLock(name, tag, async () => {
        const current = await this.repos.tagCurrent(name, tag);
        if (current && sameDigest(current, digest)) await this.repos.removeTag(name, tag);
        else await this.repos.dropFromHistory(name, tag, digest);
      });
    }
    await this.unlink(name, r);
  }

  /** DELETE …/manifests/<tag>/<digest>: drop from this tag's history; fall back if it was current. */
  async deleteFromTag(name: string, tag: string, digest: Digest): Promise<void> {
    const notInHistory = () => unknownManifest(`${name}:${tag}@${digestString(digest)}`, 'is not in the history of that tag');
    const done = await this.repos.withTagLock(name, tag, async () => {
      if (!(await this.repos.inTagHistory(name, tag, digest))) throw notInHistory();
      await this.repos.dropFromHistory(name, tag, digest);
      const current = await this.repos.tagCurrent(name, tag);
      if (current && !sameDigest(current, digest)) return;
      const [newest] = await this.repos.tagHistory(name, tag);
      if (newest) await this.repos.pointTag(name, tag, newest.digest);
      else await this.repos.removeTag(name, tag);
    });
    if (!done) throw notInHistory();
  }

  /** DELETE …/manifests/<tag>: remove the tag; unlink revisions no other tag's history holds. */
  async deleteTag(name: string, tag: string): Promise<void> {
    const removed = await this.repos.withTagLock(name, tag, async () => {
      const history = await this.repos.tagHistory(name, tag);
      return (await this.repos.removeTag(name, tag)) ? history : undefined;
    });
    const history = removed?.value;
    if (!history) throw unknownManifest(`${name}:${tag}`);
    const others = await this.repos.listTags(name);
    for (const { digest } of history) {
      const held = await Promise.all(others.map((t) => this.repos.inTagHistory(name, t, digest)));
      if (held.includes(true)) continue;
      const r = await this.revision(name, digest).catch(() => undefined);
      if (r) await this.unlink(name, r);
    }
  }

  private async unlink(name: string, r: Revision): Promise<void> {
    const subject = await this.subjectOf(r);
    if (subject) await this.repos.unlinkReferrer(name, subject, r.digest);
    await this.repos.unlinkRevision(name, r.digest);
  }

  private async subjectOf(r: Revision): Promise<Digest | undefined> {
    try {
      return parseManifest(await this.body(r), r.mediaType).subject;
    } catch {
      return undefined;
    }
  }
}

function unknownManifest(ref: string, why = 'is not known'): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} ${why}`);
}
