// What a stored manifest keeps alive: its blobs (config and layers; schema1
// fsLayers), its index children, and the subject it refers to.
import { parseManifest } from '../shared/manifest.js';
import { digestString } from '../shared/reference.js';

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
    return {
      blobs: m.blobs.map(digestString),
      children: m.children.map(digestString),
      subject: m.subject && digestString(m.subject),
    };
  } catch (err) {
    return { blobs: [], children: [], error: `cannot parse manifest: ${(err as Error).message}` };
  }
}
