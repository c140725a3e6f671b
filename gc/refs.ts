// What a stored manifest keeps alive: its blobs (config and layers), its index
// children, and the subject it refers to. parseManifest knows OCI and Docker v2;
// schema1 layers are read here from `fsLayers[].blobSum`, because a GC that missed
// them would delete the layers of every schema1 image.
import { isSchema1, parseManifest } from '../shared/manifest.js';
import { digestString, isDigest } from '../shared/reference.js';

export interface ManifestRefs {
  blobs: string[];
  children: string[];
  subject?: string;
  /** Set when the manifest could not be read: the GC then deletes no blobs at all. */
  error?: string;
}

export function manifestRefs(body: Uint8Array, mediaType: string): ManifestRefs {
  try {
    const m = parseManifest(body, mediaType);
    if (m.kind === 'schema1' || isSchema1(m.mediaType)) return schema1Refs(m.json);
    return {
      blobs: m.blobs.map(digestString),
      children: m.children.map(digestString),
      subject: m.subject && digestString(m.subject),
    };
  } catch (err) {
    return { blobs: [], children: [], error: `cannot parse manifest: ${(err as Error).message}` };
  }
}

function schema1Refs(json: Record<string, unknown>): ManifestRefs {
  const layers = json.fsLayers;
  if (!Array.isArray(layers)) return { blobs: [], children: [], error: 'schema1 manifest without fsLayers' };
  const blobs: string[] = [];
  for (const l of layers) {
    const sum = (l as { blobSum?: unknown } | null)?.blobSum;
    if (typeof sum !== 'string' || !isDigest(sum)) return { blobs: [], children: [], error: 'schema1 fsLayers entry without a valid blobSum' };
    blobs.push(sum);
  }
  return { blobs: [...new Set(blobs)], children: [] };
}
