// The grammars of repository names, tags and digests (docs/api.md). Every part of an
// on-disk path is checked here first, so no request can build a path outside the root.
import { RegistryError } from './errors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const MAX_NAME_LENGTH = 255;

export type Algorithm = 'sha256' | 'sha512';

export interface Digest {
  readonly algorithm: Algorithm;
  readonly hex: string;
}

export function isName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME.test(s);
}
export function isTag(s: string): boolean {
  return TAG.test(s);
}
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}
export function isUploadId(s: string): boolean {
  return UPLOAD_ID.test(s);
}

export function parseName(s: string): string {
  if (!isName(s)) throw new RegistryError('NAME_INVALID', `invalid repository name: ${JSON.stringify(s)}`);
  return s;
}

export function parseTag(s: string): string {
  if (!isTag(s)) throw new RegistryError('TAG_INVALID', `invalid tag: ${JSON.stringify(s)}`);
  return s;
}

export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw new RegistryError('DIGEST_INVALID', `invalid digest: ${JSON.stringify(s)}`);
  const [algorithm, hex] = s.split(':') as [Algorithm, string];
  return { algorithm, hex };
}

export function digestString(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** A manifest reference is a tag or a digest; the two grammars never overlap. */
export type Reference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

export function parseReference(s: string): Reference {
  if (s.includes(':')) return { digest: parseDigest(s) };
  return { tag: parseTag(s) };
}
