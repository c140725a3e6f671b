// A revision the way people look at an image: how big it is (config + layers, as
// pushed, compressed), its platforms (an index: one per child, each with its own
// size), when it was created and its labels (from the config), and what is attached
// to it (OCI referrers and cosign's `sha256-<hex>.sig/.att/.sbom` tags). Read from
// the repository's own revisions and blobs only.
import { type Manifest, parseManifest } from '../../shared/manifest.js';
import { type Digest, digestString, isDigest, isTag, parseDigest } from '../../shared/reference.js';
import type { Registry } from '../../store/index.js';

export interface Platform {
  digest: string;
  os?: string;
  architecture?: string;
  variant?: string;
  size?: number;
}

export interface ImageFacts {
  /** Config plus layers, compressed; an index: the sum over its children. Undefined when unknown (schema1 names no sizes). */
  imageSize?: number;
  created?: string;
  labels: Record<string, string>;
  platforms: Platform[];
}

export interface Referrer {
  digest: string;
  mediaType?: string;
  size?: number;
  artifactType?: string;
  /** signature, attestation, sbom, or the artifact type. */
  kind: string;
}

export interface Attachment {
  /** signature, attestation, sbom, or the referrer's artifact type. */
  kind: string;
  digest: string;
  via: 'referrer' | 'tag';
  artifactType?: string;
  tag?: string;
}

/** An index's children summarised, at most this many (an index of hundreds is a list, not a card). */
const MAX_PLATFORMS = 64;

const COSIGN_SUFFIXES = { sig: 'signature', att: 'attestation', sbom: 'sbom' } as const;
const ARTIFACT_KINDS: Record<string, string> = {
  'application/vnd.dev.cosign.artifact.sig.v1+json': 'signature',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'signature',
  'application/vnd.in-toto+json': 'attestation',
  'application/vnd.dsse.envelope.v1+json': 'attestation',
  'application/spdx+json': 'sbom',
  'application/vnd.cyclonedx+json': 'sbom',
  'text/spdx': 'sbom',
};

export function imageFacts(reg: Registry) {
  async function manifestOf(name: string, d: Digest) {
    const mediaType = await reg.repos.revisionMediaType(name, d);
    if (mediaType === undefined) return undefined;
    try {
      return parseManifest(await reg.blobs.readAll(d), mediaType);
    } catch {
      return undefined; // damage is fsck's to report; the card shows what it can
    }
  }

  const descriptors = (v: unknown) => (Array.isArray(v) ? (v as { digest?: unknown; size?: unknown }[]) : []);
  const sizeOf = (json: Record<string, unknown>): number | undefined => {
    const all = [json.config, ...descriptors(json.layers)] as { size?: unknown }[];
    if (!json.config || all.some((x) => typeof x?.size !== 'number')) return undefined;
    return all.reduce((n, x) => n + (x.size as number), 0);
  };

  async function configFacts(name: string, json: Record<string, unknown>): Promise<Pick<ImageFacts, 'created' | 'labels'> & { os?: string; architecture?: string; variant?: string }> {
    const digest = (json.config as { digest?: unknown } | undefined)?.digest;
    if (typeof digest !== 'string' || !isDigest(digest) || (await reg.layers.servable(name, parseDigest(digest))) === undefined) return { labels: {} };
    try {
      const c = JSON.parse((await reg.blobs.readAll(parseDigest(digest))).toString('utf8')) as Record<string, unknown>;
      const labels = ((c.config as { Labels?: unknown } | undefined)?.Labels ?? {}) as Record<string, unknown>;
      return {
        created: typeof c.created === 'string' ? c.created : undefined,
        labels: Object.fromEntries(Object.entries(labels && typeof labels === 'object' ? labels : {}).filter(([, v]) => typeof v === 'string')) as Record<string, string>,
        os: typeof c.os === 'string' ? c.os : undefined,
        architecture: typeof c.architecture === 'string' ? c.architecture : undefined,
        variant: typeof c.variant === 'string' ? c.variant : undefined,
      };
    } catch {
      return { labels: {} }; // not JSON: an artifact's config, say
    }
  }

  /** What an index's children (at most MAX_PLATFORMS) are: platform and their own size. */
  async function platformsOf(name: string, json: Record<string, unknown>): Promise<Platform[]> {
    const children = descriptors(json.manifests).slice(0, MAX_PLATFORMS) as { digest?: unknown; platform?: Record<string, unknown> }[];
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return Promise.all(
      children.map(async (child): Promise<Platform> => {
        const digest = typeof child.digest === 'string' && isDigest(child.digest) ? child.digest : '';
        const cm = digest ? await manifestOf(name, parseDigest(digest)) : undefined;
        const p = child.platform ?? {};
        return { digest, os: str(p.os), architecture: str(p.architecture), variant: str(p.variant), size: cm?.kind === 'image' ? sizeOf(cm.json) : undefined };
      }),
    );
  }

  const total = (platforms: Platform[]) =>
    platforms.length && platforms.every((p) => p.size !== undefined) ? platforms.reduce((n, p) => n + p.size!, 0) : undefined;

  return {
    /** A revision's size alone (the timeline): its manifest, and an index's children's, nothing more. */
    async size(name: string, d: Digest): Promise<number | undefined> {
      const m = await manifestOf(name, d);
      if (m?.kind === 'image') return sizeOf(m.json);
      return m?.kind === 'index' ? total(await platformsOf(name, m.json)) : undefined;
    },

    /** Size, platforms, created time and labels of revision `d` of `name`, whose manifest the caller parsed (`m`). */
    async facts(name: string, d: Digest, m: Manifest | undefined): Promise<ImageFacts> {
      if (m?.kind === 'image') {
        const c = await configFacts(name, m.json);
        const platforms = c.os ? [{ digest: digestString(d), os: c.os, architecture: c.architecture, variant: c.variant, size: sizeOf(m.json) }] : [];
        return { imageSize: sizeOf(m.json), created: c.created, labels: c.labels, platforms };
      }
      if (m?.kind === 'index') {
        const platforms = await platformsOf(name, m.json);
        return { imageSize: total(platforms), labels: {}, platforms };
      }
      return { labels: {}, platforms: [] }; // schema1 names no sizes; a damaged manifest, none either
    },

    /** The referrers of revision `d` of `name`, each with its size, media type, artifact type and kind. */
    async referrers(name: string, d: Digest): Promise<Referrer[]> {
      return Promise.all(
        (await reg.repos.listReferrers(name, d)).map(async (r) => {
          const [m, size] = await Promise.all([manifestOf(name, r), reg.blobs.size(r)]);
          const artifactType = m?.artifactType ?? (m?.json.config as { mediaType?: string } | undefined)?.mediaType;
          return { digest: digestString(r), mediaType: m?.mediaType, size, artifactType, kind: (artifactType && ARTIFACT_KINDS[artifactType]) ?? artifactType ?? 'artifact' };
        }),
      );
    },

    /** What is attached to revision `d` of `name`: its referrers (already read), and cosign's tags for it. */
    async attachments(name: string, d: Digest, referrers: Referrer[]): Promise<Attachment[]> {
      const out: Attachment[] = referrers.map((r) => ({ kind: r.kind, digest: r.digest, via: 'referrer', artifactType: r.artifactType }));
      for (const [suffix, kind] of Object.entries(COSIGN_SUFFIXES)) {
        const tag = `${d.algorithm}-${d.hex}.${suffix}`;
        if (!isTag(tag)) continue; // sha512 digests make names longer than a tag may be
        const current = await reg.repos.tagCurrent(name, tag);
        if (current) out.push({ kind, digest: digestString(current), via: 'tag', tag });
      }
      return out;
    },
  };
}
