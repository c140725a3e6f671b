// The registry's storage, assembled over one root.
import { type FsyncMode, durabilityFor, useDurability } from '../shared/durability.js';
import { Paths } from '../shared/paths.js';
import { BlobStore } from './blobs.js';
import { CachedManifestStore, CachedRepositories } from './cache.js';
import type { ManifestStore } from './manifests.js';
import { SignatureStore } from './signatures.js';
import { UploadStore } from './uploads.js';

export interface Registry {
  paths: Paths;
  repos: CachedRepositories;
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore;
  signatures: SignatureStore;
}

/** Opens the stores over `root`; writes follow what its filesystem keeps (`fsync`, default auto). */
export function openRegistry(root: string, opts: { fsync?: FsyncMode } = {}): Registry {
  useDurability(durabilityFor(root, opts.fsync));
  const paths = new Paths(root);
  const repos = new CachedRepositories(paths);
  const blobs = new BlobStore(paths);
  const signatures = new SignatureStore(paths);
  return {
    paths,
    repos,
    blobs,
    uploads: new UploadStore(paths, blobs, repos),
    manifests: new CachedManifestStore(repos, blobs, signatures),
    signatures,
  };
}
