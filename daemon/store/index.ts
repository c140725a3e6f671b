// The registry's storage, assembled over one root.
import { Paths } from '../../shared/paths.js';
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

export function openRegistry(root: string): Registry {
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
