// A repository's view of the blob store: which blobs it may serve, and linking in a
// blob another repository holds (a mount). Both rules live here, so every way in —
// the API, the page — applies the same ones.
import { type Digest, isName } from '../shared/reference.js';
import type { BlobStore } from './blobs.js';
import type { Repositories } from './repository.js';

/** Who may read which repository, as the caller's access says: every one, or those `may` allows. */
export type Readable = 'every' | ((repository: string) => boolean);

export class RepositoryBlobs {
  constructor(
    private readonly repos: Repositories,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * The size of a blob `name` may serve: one linked into it (a layer or config) or
   * one of its manifests, and stored. Undefined otherwise, whatever other
   * repositories hold.
   */
  async servable(name: string, d: Digest): Promise<number | undefined> {
    const [layer, size] = await Promise.all([this.repos.hasLayer(name, d), this.blobs.size(d)]);
    if (size === undefined) return undefined;
    return layer || (await this.repos.hasRevision(name, d)) ? size : undefined;
  }

  /**
   * Marks a blob `name` serves as just used (GC grace), as a HEAD before a skipped
   * upload does: false when a GC moved it away meanwhile.
   */
  async touchServed(name: string, d: Digest): Promise<boolean> {
    if (!(await this.blobs.touch(d))) return false;
    await this.repos.touchLayer(name, d);
    return true;
  }

  /**
   * Links into `name` a blob that `from` holds, or without `from` that any readable
   * repository holds. Only what the caller may read counts: `from` it may not read,
   * or a blob in none it may read, mounts nothing (false: the client uploads).
   */
  async mount(name: string, d: Digest, from: string | undefined, readable: Readable): Promise<boolean> {
    const may = (repo: string) => readable === 'every' || readable(repo);
    if (from !== undefined && !(isName(from) && may(from) && (await this.repos.hasLayer(from, d)))) return false;
    if (from === undefined && readable !== 'every' && !(await this.readableHas(d, may))) return false;
    // The touch is the existence check, so a concurrent GC sees the blob in use (see fsx.touch).
    if (!(await this.blobs.touch(d))) return false;
    await this.repos.linkLayer(name, d);
    return true;
  }

  private async readableHas(d: Digest, may: (repo: string) => boolean): Promise<boolean> {
    for (const repo of await this.repos.listRepositories()) {
      if (may(repo) && (await this.repos.hasLayer(repo, d))) return true;
    }
    return false;
  }
}
