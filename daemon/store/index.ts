// The registry's storage, assembled over one root.
import { Paths } from '../../shared/paths.js';
import { BlobStore } from './blobs.js';
import { ManifestStore } from './manifests.js';
import { Repositories } from './repository.js';
import { SignatureStore } from './signatures.js';
import { UploadStore } from './uploads.js';

export interface Registry {
  paths: Paths;
  repos: Repositories;
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore;
  signatures: SignatureStore;
}

export function openRegistry(root: string): Registry {
  const paths = new Paths(root);
  const repos = new Repositories(paths);
  const blobs = new BlobStore(paths);
  const signatures = new SignatureStore(paths);
  return {
    paths,
    repos,
    blobs,
    uploads: new UploadStore(paths, blobs),
    manifests: new ManifestStore(repos, blobs, signatures),
    signatures,
  };
}
