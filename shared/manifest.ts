// Manifest media types, and parsing a manifest body into what the registry needs
// to know of it: kind, the blobs and child manifests it references, its subject.
import { RegistryError } from './errors.js';
import { type Digest, isDigest, parseDigest } from './reference.js';
import { schema1Blobs } from './schema1.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

const IMAGE_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerList]);
const SCHEMA1_TYPES = new Set<string>([MediaTypes.schema1Signed, MediaTypes.schema1]);
/** Content-Types that say "JSON" without saying which manifest: the body decides. */
const GENERIC_TYPES = new Set(['', 'application/json', 'application/octet-stream']);

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface Manifest {
  mediaType: string;
  kind: 'image' | 'index' | 'schema1';
  /** Config and layers (schema1: fsLayers): blobs that must be linked in the repository (layers with `urls` excepted). */
  blobs: Digest[];
  /** Index children: manifests that must be revisions of the repository. */
  children: Digest[];
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
  json: Record<string, unknown>;
}

export function isSchema1(mediaType: string): boolean {
  return SCHEMA1_TYPES.has(mediaType);
}

export function isManifestMediaType(mediaType: string): boolean {
  return IMAGE_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType) || SCHEMA1_TYPES.has(mediaType);
}

/**
 * Parses and checks a manifest. `contentType` is the request's Content-Type; the
 * body's own `mediaType`, when present, must agree with it.
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
  const obj = json as Record<string, unknown>;
  const mediaType = resolveMediaType(obj, (contentType ?? '').split(';')[0]!.trim().toLowerCase());

  if (SCHEMA1_TYPES.has(mediaType)) return { mediaType, kind: 'schema1', blobs: schema1Blobs(obj), children: [], json: obj };
  if (obj.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const subject = obj.subject === undefined ? undefined : descriptor(obj.subject, 'subject');
  const artifactType = optionalString(obj.artifactType, 'artifactType');
  const annotations = stringMap(obj.annotations, 'annotations');
  const common = { mediaType, subject: subject && parseDigest(subject.digest), artifactType, annotations, json: obj };

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(obj.manifests)) throw invalid('an index needs a "manifests" array');
    const children = obj.manifests.map((m, i) => parseDigest(descriptor(m, `manifests[${i}]`).digest));
    return { ...common, kind: 'index', blobs: [], children };
  }
  const config = descriptor(obj.config, 'config');
  if (!Array.isArray(obj.layers)) throw invalid('an image manifest needs a "layers" array');
  const layers = obj.layers.map((l, i) => descriptor(l, `layers[${i}]`));
  const blobs = [config, ...layers.filter((l) => !l.urls?.length)].map((d) => parseDigest(d.digest));
  return { ...common, kind: 'image', blobs, children: [] };
}

function resolveMediaType(obj: Record<string, unknown>, contentType: string): string {
  const declared = optionalString(obj.mediaType, 'mediaType');
  if (declared !== undefined && !isManifestMediaType(declared)) throw invalid(`unsupported manifest media type ${declared}`);
  if (GENERIC_TYPES.has(contentType)) {
    if (declared) return declared;
    // An OCI manifest may leave out mediaType; its shape tells which it is.
    if (Array.isArray(obj.manifests)) return MediaTypes.ociIndex;
    if (obj.config !== undefined) return MediaTypes.ociManifest;
    if (Array.isArray(obj.fsLayers)) return MediaTypes.schema1Signed;
    throw invalid('cannot tell the manifest media type: set Content-Type or "mediaType"');
  }
  if (!isManifestMediaType(contentType)) throw invalid(`unsupported manifest media type ${contentType}`);
  if (declared !== undefined && declared !== contentType) {
    throw invalid(`Content-Type ${contentType} does not match the manifest's mediaType ${declared}`);
  }
  return contentType;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be a descriptor object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where}.mediaType must be a string`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw invalid(`${where}.digest is not a valid digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  if (d.urls !== undefined && (!Array.isArray(d.urls) || d.urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  stringMap(d.annotations, `${where}.annotations`);
  return d as Descriptor;
}

function optionalString(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where} must map strings to strings`);
  }
  return v as Record<string, string>;
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
