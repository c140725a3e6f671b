// Pushing content the way registry clients do, against either target: blobs by
// POST + PUT ?digest= (monolithic) or POST + PATCH… + PUT (chunked), small OCI
// images with correct digests, manifests by tag or digest.
import { createHash, randomBytes } from 'node:crypto';
import { type Client, type Response, expectStatus } from './http.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

export interface Blob {
  data: Buffer;
  digest: string;
}

export interface Image {
  blobs: Blob[];
  manifest: Blob;
}

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function blob(data: Buffer): Blob {
  return { data, digest: sha256(data) };
}

/** An OCI image over the given layers with a config that makes it unique (`seed`). */
export function image(layers: Blob[], seed: string): Image {
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.data.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.data.length })),
    }),
  );
  return { blobs: [...layers, config], manifest: blob(manifest) };
}

/** A small image: one random layer of `layerBytes`, a config, a manifest. */
export function smallImage(layerBytes: number, seed: string): Image {
  return image([blob(randomBytes(layerBytes))], seed);
}

function withDigest(c: Client, location: string, digest: string): URL {
  const url = c.url(location);
  url.searchParams.set('digest', digest);
  return url;
}

async function startUpload(c: Client, repo: string): Promise<string> {
  const res = expectStatus(await c.request('POST', `/v2/${repo}/blobs/uploads/`), 'start upload', 202);
  return String(res.headers.location);
}

/** POST, then one PUT ?digest= carrying the whole body. */
export async function pushMonolithic(c: Client, repo: string, b: Blob): Promise<Response> {
  const location = await startUpload(c, repo);
  return c.request('PUT', withDigest(c, location, b.digest), {
    body: b.data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

/** POST, a PATCH per chunk with Content-Range, then PUT ?digest= without a body. */
export async function pushChunked(c: Client, repo: string, b: Blob, chunk: number): Promise<void> {
  let location = await startUpload(c, repo);
  for (let at = 0; at < b.data.length; at += chunk) {
    const end = Math.min(at + chunk, b.data.length);
    const res = await c.request('PATCH', location, {
      body: b.data.subarray(at, end),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${at}-${end - 1}` },
    });
    expectStatus(res, `PATCH ${at}-${end - 1}`, 202);
    location = String(res.headers.location); // Distribution changes its _state token each time
  }
  expectStatus(await c.request('PUT', withDigest(c, location, b.digest)), 'finish chunked upload', 201);
}

/** GETs a blob and checks its digest while the bytes arrive; returns the byte count. */
export async function pullVerified(c: Client, repo: string, digest: string): Promise<number> {
  const hash = createHash('sha256');
  const res = await c.request('GET', `/v2/${repo}/blobs/${digest}`, { onData: (chunk) => hash.update(chunk) });
  expectStatus(res, 'pull blob', 200);
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) throw new Error(`pulled blob hashes to ${got}, not ${digest}`);
  return res.bytes;
}

export async function putManifest(c: Client, repo: string, ref: string, m: Blob): Promise<void> {
  const res = await c.request('PUT', `/v2/${repo}/manifests/${ref}`, { body: m.data, headers: { 'Content-Type': OCI_MANIFEST } });
  expectStatus(res, `PUT manifest ${repo}:${ref}`, 201);
}

/** Pushes an image's blobs (monolithic) and its manifest under `ref`. */
export async function pushImage(c: Client, repo: string, img: Image, ref: string): Promise<void> {
  for (const b of img.blobs) expectStatus(await pushMonolithic(c, repo, b), `push blob ${b.digest}`, 201);
  await putManifest(c, repo, ref, img.manifest);
}
