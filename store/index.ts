// The registry's storage, assembled over one root: one store per concern (what a
// repository links, the blobs, what a repository may serve, uploads, manifests,
// schema1 signatures). HTTP handlers translate requests to calls on these and
// answers back; the storage rules are inside them.
import { type FsyncMode, durabilityFor, useDurability } from '../shared/durability.js';
import { Paths } from '../shared/paths.js';
import { BlobStore } from './blobs.js';
import { RepositoryBlobs } from './layers.js';
import { ManifestCache, TagCache } from './cache.js';
import { ManifestStore } from './manifests.js';
import { Repositories } from './repository.js';
import { SignatureStore } from './signatures.js';
import { UploadStore } from './uploads.js';

export interface Registry {
  paths: Paths;
  repos: Repositories;
  /** What the daemon remembers of tags and the catalog (a watcher keeps the catalog true). */
  tagCache: TagCache;
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
  const tagCache = new TagCache();
  const repos = new Repositories(paths, tagCache);
  const blobs = new BlobStore(paths);
  const signatures = new SignatureStore(paths);
  return {
    paths,
    repos,
    tagCache,
    blobs,
    layers: new RepositoryBlobs(repos, blobs),
    uploads: new UploadStore(paths, blobs, repos),
    manifests: new ManifestStore(repos, blobs, signatures, new ManifestCache()),
    signatures,
  };
}
