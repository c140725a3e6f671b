// Small images with correct digests, built in Node: blobs, OCI and Docker
// manifests, indexes, artifacts, real tar+gzip layers, and OCI image layouts on
// disk for skopeo to copy from.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar';
import { MediaTypes } from '../../shared/manifest.js';

export interface Blob {
  data: Buffer;
  digest: string;
  size: number;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Built {
  /** The exact bytes to PUT. */
  body: Buffer;
  digest: string;
  mediaType: string;
  size: number;
  /** Config and layers (for an image) that must be pushed first. */
  blobs: Blob[];
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function blob(content: Buffer | string): Blob {
  const data = Buffer.from(content);
  return { data, digest: sha256(data), size: data.length };
}

export function describe(b: Blob | Built, mediaType: string): Descriptor {
  return { mediaType, digest: b.digest, size: b.size };
}

export function built(json: unknown, mediaType: string, blobs: Blob[] = []): Built {
  const body = Buffer.from(JSON.stringify(json, null, 2));
  return { body, digest: sha256(body), mediaType, size: body.length, blobs };
}

export interface ImageOptions {
  /** Layer contents; each becomes a blob (not a real tar unless given one). */
  layers?: (Buffer | string)[];
  config?: Record<string, unknown>;
  configMediaType?: string;
  mediaType?: string;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Layers served from elsewhere: in the manifest, with `urls`, never pushed. */
  foreignLayers?: Descriptor[];
}

/** An OCI image manifest (or Docker schema2 with `mediaType`). */
export function image(opts: ImageOptions = {}): Built {
  const docker = opts.mediaType === MediaTypes.dockerManifest;
  const layerType = docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip';
  const configType = opts.configMediaType ?? (docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const layers = (opts.layers ?? [`layer ${Math.random()}`]).map(blob);
  const config = blob(JSON.stringify(opts.config ?? { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: opts.mediaType ?? MediaTypes.ociManifest,
    ...(opts.artifactType && { artifactType: opts.artifactType }),
    config: describe(config, configType),
    layers: [...layers.map((l) => describe(l, layerType)), ...(opts.foreignLayers ?? [])],
    ...(opts.subject && { subject: opts.subject }),
    ...(opts.annotations && { annotations: opts.annotations }),
  };
  return built(json, opts.mediaType ?? MediaTypes.ociManifest, [config, ...layers]);
}

/** An OCI artifact: empty config, one blob, `artifactType`, usually a `subject`. */
export function artifact(artifactType: string, subject?: Built, annotations?: Record<string, string>): Built {
  const empty = blob('{}');
  const payload = blob(`artifact ${Math.random()}`);
  const json = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType,
    config: describe(empty, 'application/vnd.oci.empty.v1+json'),
    layers: [describe(payload, 'application/octet-stream')],
    ...(subject && { subject: describe(subject, subject.mediaType) }),
    ...(annotations && { annotations }),
  };
  return built(json, MediaTypes.ociManifest, [empty, payload]);
}

/** An OCI index (or Docker manifest list) over already-built manifests. */
export function index(children: Built[], mediaType: string = MediaTypes.ociIndex): Built {
  const json = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c, i) => ({ ...describe(c, c.mediaType), platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
  };
  return built(json, mediaType);
}

/** A gzipped tar holding the given files: a real layer for real clients. */
export async function tarLayer(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-layer-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return await buffer(tar.create({ gzip: true, cwd: dir, portable: true }, Object.keys(files)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A real single-layer OCI image (tar+gzip layer, config with its diff_id). */
export async function realImage(files: Record<string, string>): Promise<Built> {
  const layerGz = await tarLayer(files);
  const { gunzipSync } = await import('node:zlib');
  const diffId = sha256(gunzipSync(layerGz));
  const layer = blob(layerGz);
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'cairn test' }],
    }),
  );
  const json = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: describe(config, 'application/vnd.oci.image.config.v1+json'),
    layers: [describe(layer, 'application/vnd.oci.image.layer.v1.tar+gzip')],
  };
  return built(json, MediaTypes.ociManifest, [config, layer]);
}

/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256) that skopeo can copy from. */
export async function writeOciLayout(dir: string, images: { image: Built; tag: string }[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image: img } of images) {
    for (const b of [...img.blobs, { data: img.body, digest: img.digest }]) {
      await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.data);
    }
  }
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: images.map(({ image: img, tag }) => ({
      ...describe(img, img.mediaType),
      annotations: { 'org.opencontainers.image.ref.name': tag },
    })),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
