// Helpers for the export/import/mirror tests: run the real `cairn` command line,
// and read everything a registry serves, to compare two registries.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cairn as run } from './cli.js';
import { Client } from './client.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cairn ...args` (no terminal, so no progress bars), for at most a minute. */
export const cairn = (...args: string[]): Promise<Run> => run(args, { timeout: 60_000 });

/**
 * What a registry serves, as one comparable object: per repository its tags, every
 * tag's history, every revision (bytes, media type, tags) with its referrers, and
 * every blob its image manifests name (bytes hashed in).
 */
export async function describeRegistry(url: string): Promise<Record<string, unknown>> {
  const c = new Client(url);
  const out: Record<string, unknown> = {};
  const { repositories } = (await c.req('GET', '/v2/_catalog')).json as { repositories: string[] };
  for (const name of repositories) {
    const tags = ((await c.req('GET', `/v2/${name}/tags/list`)).json as { tags: string[] }).tags;
    const histories: Record<string, unknown> = {};
    const byTag: Record<string, string> = {};
    for (const tag of tags) {
      histories[tag] = (await c.req('GET', `/v2/${name}/_oci/tag-history/${tag}`)).json;
      const r = await c.req('GET', `/v2/${name}/manifests/${tag}`);
      byTag[tag] = `${r.headers.get('docker-content-digest')} ${r.body.toString('base64')}`;
    }
    const revisions = ((await c.req('GET', `/v2/${name}/_cairn/revisions`)).json as { revisions: { digest: string }[] }).revisions;
    const manifests: Record<string, unknown> = {};
    for (const { digest } of revisions) {
      const r = await c.req('GET', `/v2/${name}/manifests/${digest}`);
      const referrers = (await c.req('GET', `/v2/${name}/referrers/${digest}`)).json;
      const blobs: Record<string, string> = {};
      const json = r.json as { config?: { digest: string }; layers?: { digest: string; urls?: string[] }[] };
      for (const d of [json.config, ...(json.layers ?? [])].filter((x) => x && !('urls' in x && x.urls))) {
        const b = await c.req('GET', `/v2/${name}/blobs/${d!.digest}`);
        blobs[d!.digest] = `${b.status} ${b.body.toString('base64')}`;
      }
      manifests[digest] = { status: r.status, type: r.headers.get('content-type'), body: r.body.toString('base64'), referrers, blobs };
    }
    out[name] = { tags, histories, byTag, revisions, manifests };
  }
  return out;
}

/** Digests of the blobs in an OCI layout directory. */
export async function layoutBlobs(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'blobs', 'sha256'))).map((h) => `sha256:${h}`).sort();
}
