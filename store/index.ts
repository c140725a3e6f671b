// The registry's storage, assembled over one root: one store per concern (what a
// repository links, the blobs, what a repository may serve, uploads, manifests,
// schema1 signatures). HTTP handlers translate requests to calls on these and
// answers back; the storage rules are inside them.
import { type FsyncMode, durabilityFor, useDurability } from '../shared/durability.js';
import { Paths } from '../shared/paths.js';
import { BlobStore } from './blobs.js';
import { RepositoryBlobs } from './layers.js';
import { CachedManifestStore, CachedRepositories } from './cache.js';
import type { ManifestStore } from './manifests.js';
import { SignatureStore } from './signatures.js';
import { UploadStore } from './uploads.js';

export interface Registry {
  paths: Paths;
  repos: CachedRepositories;
  blobs: BlobStore;
  /** What a repository may serve, and mounts. */
  layers: RepositoryBlobs;
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
    layers: new RepositoryBlobs(repos, blobs),
    uploads: new UploadStore(paths, blobs, repos),
    manifests: new CachedManifestStore(repos, blobs, signatures),
    signatures,
  };
}
