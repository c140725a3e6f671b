// Docker schema1 signed manifests in libtrust's "pretty JWS" form: the payload JSON
// with a "signatures" array spliced in before its closing brace. Each signature's
// protected header says where the payload was cut (formatLength) and what followed
// the cut (formatTail), so the payload can be rebuilt byte for byte, hashed, and
// verified; and the same payload can be served again with any set of signatures.
import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';
import { type Digest, isDigest, parseDigest } from './reference.js';

/** The algorithms libtrust signs with. */
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512'];
const B64URL = /^[A-Za-z0-9_-]*$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** One signature, reduced to what libtrust keeps: the key (jwk or x5c chain), alg, signature, protected. */
export interface Schema1Signature {
  header: { jwk?: Record<string, string>; alg: string; x5c?: string[] };
  signature: string;
  protected: string;
}

export interface Format {
  length: number;
  tail: Buffer;
}

/** What a schema1 PUT body holds: the payload that is hashed and stored, and its signatures. */
export interface Schema1Body {
  payload: Buffer;
  signatures: Schema1Signature[];
}

/**
 * Splits a pretty JWS into payload and signatures, and verifies every signature
 * with jose. A body without a "signatures" member is an unsigned manifest: its
 * payload is the body itself, allowed only when `unsignedAllowed`.
 */
export async function openSchema1(body: Buffer, unsignedAllowed: boolean): Promise<Schema1Body> {
  const split = splitPrettyJws(body);
  if (!split) {
    if (unsignedAllowed) return { payload: body, signatures: [] };
    throw unverified('a signed schema1 manifest needs a "signatures" array');
  }
  const { payload, signatures } = split;
  await Promise.all(signatures.map((s, i) => verify(payload, s, i)));
  // What we store must serve again: the merged form has to parse back to this payload.
  let again: Schema1Body | undefined;
  try {
    again = splitPrettyJws(prettyJws(payload, signatures));
  } catch {
    again = undefined;
  }
  if (!again?.payload.equals(payload)) throw invalid('formatLength/formatTail do not cut the payload where a signatures block can go');
  return { payload, signatures: unique(signatures) };
}

/** Payload and signatures of a pretty JWS, unverified; undefined when it has no "signatures" member. */
export function splitPrettyJws(body: Buffer): Schema1Body | undefined {
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  if (json.signatures === undefined) return undefined;
  if (!Array.isArray(json.signatures) || json.signatures.length === 0) {
    throw unverified('"signatures" must be a non-empty array');
  }
  const signatures = json.signatures.map((s, i) => normalize(s, i));
  const format = formatOf(signatures[0]!);
  signatures.forEach((s, i) => {
    if (!sameFormat(formatOf(s), format)) throw unverified(`signatures[${i}] disagrees with signatures[0] on formatLength/formatTail`);
  });
  if (format.length > body.length) throw unverified(`formatLength ${format.length} is past the end of the ${body.length}-byte body`);
  return { payload: Buffer.concat([body.subarray(0, format.length), format.tail]), signatures };
}

/**
 * The pretty JWS of a payload with these signatures, laid out as libtrust's
 * PrettySignature does (and so as CNCF Distribution serves it): the payload up to
 * formatLength, then `"signatures": [...]` indented like the payload, then `}`.
 * All signatures must share one format.
 */
export function prettyJws(payload: Buffer, signatures: Schema1Signature[]): Buffer {
  const format = formatOf(signatures[0]!);
  if (signatures.some((s) => !sameFormat(formatOf(s), format))) throw new Error('signatures with different formats cannot be merged');
  const indent = detectIndent(payload);
  const head = payload.subarray(0, format.length);
  const sorted = [...signatures].sort((a, b) => compare(signatureId(a), signatureId(b)));
  const block = indent
    ? `,\n${indent}"signatures": ${JSON.stringify(sorted, null, indent).replaceAll('\n', `\n${indent}`)}\n}`
    : `,"signatures":${JSON.stringify(sorted)}}`;
  return Buffer.concat([head, Buffer.from(block)]);
}

/** The stored form of a signature: compact JSON with members in libtrust's order. */
export function canonicalSignature(s: Schema1Signature): string {
  return JSON.stringify(s);
}

/** A signature's id: sha256 hex of its canonical JSON, so a repeat maps to the same file. */
export function signatureId(s: Schema1Signature): string {
  return createHash('sha256').update(canonicalSignature(s)).digest('hex');
}

/** Reads a stored signature back; undefined when the text is not one. */
export function parseStoredSignature(text: string): Schema1Signature | undefined {
  try {
    return normalize(JSON.parse(text), 0);
  } catch {
    return undefined;
  }
}

export function formatOf(s: Schema1Signature): Format {
  const h = protectedHeader(s.protected, 0);
  return { length: h.formatLength as number, tail: Buffer.from(h.formatTail as string, 'base64url') };
}

export function sameFormat(a: Format, b: Format): boolean {
  return a.length === b.length && a.tail.equals(b.tail);
}

/** Blobs a schema1 payload references (fsLayers, deduplicated), after checking its shape. */
export function schema1Blobs(json: Record<string, unknown>): Digest[] {
  if (json.schemaVersion !== 1) throw invalid('a schema1 manifest needs schemaVersion 1');
  if (typeof json.name !== 'string' || typeof json.tag !== 'string') throw invalid('a schema1 manifest needs "name" and "tag" strings');
  if (!Array.isArray(json.fsLayers)) throw invalid('a schema1 manifest needs an "fsLayers" array');
  // Distribution refuses a manifest whose history and layers do not pair up.
  if (!Array.isArray(json.history) || json.history.length !== json.fsLayers.length) {
    throw invalid('"history" must have one entry per fsLayers entry');
  }
  const seen = new Set<string>();
  json.fsLayers.forEach((l, i) => {
    const sum = typeof l === 'object' && l !== null ? (l as Record<string, unknown>).blobSum : undefined;
    if (typeof sum !== 'string' || !isDigest(sum)) throw invalid(`fsLayers[${i}].blobSum is not a valid digest`);
    seen.add(sum);
  });
  return [...seen].map(parseDigest);
}

/** The checks Distribution makes against the URL: name always, tag for every tag being moved. */
export function checkSchema1Target(json: Record<string, unknown>, name: string, tags: string[]): void {
  if (json.name !== name) throw new RegistryError('NAME_INVALID', `manifest name ${JSON.stringify(json.name)} does not match repository ${name}`);
  for (const tag of tags) {
    if (json.tag !== tag) throw new RegistryError('TAG_INVALID', `manifest tag ${JSON.stringify(json.tag)} does not match tag ${tag}`);
  }
}

/** Checks one signature object's shape and keeps only what verification and serving need. */
function normalize(v: unknown, i: number): Schema1Signature {
  const where = `signatures[${i}]`;
  if (!isObject(v)) throw unverified(`${where} must be an object`);
  if (typeof v.protected !== 'string' || v.protected === '') throw unverified(`${where} has no "protected" header`);
  protectedHeader(v.protected, i);
  if (typeof v.signature !== 'string' || v.signature === '' || !B64URL.test(v.signature)) {
    throw unverified(`${where}.signature must be base64url`);
  }
  if (!isObject(v.header)) throw unverified(`${where} has no "header"`);
  const { jwk, alg, x5c } = v.header;
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) throw unverified(`${where}.header.alg must be one of ${ALGORITHMS.join(', ')}`);
  const header: Partial<Schema1Signature['header']> = {};
  if (jwk !== undefined) header.jwk = publicJwk(jwk, where);
  header.alg = alg;
  if (x5c !== undefined) {
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.some((c) => typeof c !== 'string' || !B64.test(c))) {
      throw unverified(`${where}.header.x5c must be a non-empty array of base64 certificates`);
    }
    header.x5c = x5c as string[];
  }
  if (!header.jwk && !header.x5c) throw unverified(`${where}.header carries no key (jwk or x5c)`);
  return { header: header as Schema1Signature['header'], signature: v.signature, protected: v.protected };
}

function protectedHeader(encoded: string, i: number): Record<string, unknown> {
  const where = `signatures[${i}].protected`;
  let h: unknown;
  try {
    if (!B64URL.test(encoded)) throw new Error('not base64url');
    h = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw unverified(`${where} is not base64url JSON`);
  }
  if (!isObject(h)) throw unverified(`${where} is not a JSON object`);
  if (!Number.isSafeInteger(h.formatLength) || (h.formatLength as number) < 0) throw unverified(`${where} has no valid formatLength`);
  if (typeof h.formatTail !== 'string' || !B64URL.test(h.formatTail)) throw unverified(`${where} has no valid formatTail`);
  // libtrust signs base64url payloads and knows no critical extensions; a header that
  // changes how the signature is computed would not verify for Docker clients.
  if ('b64' in h || 'crit' in h) throw unverified(`${where} uses "b64" or "crit", which libtrust does not`);
  return h;
}

/** Only the public members of an EC or RSA key, in sorted order (as libtrust writes them). */
function publicJwk(v: unknown, where: string): Record<string, string> {
  if (!isObject(v)) throw unverified(`${where}.header.jwk must be an object`);
  const members = v.kty === 'EC' ? ['crv', 'kid', 'kty', 'x', 'y'] : v.kty === 'RSA' ? ['e', 'kid', 'kty', 'n'] : undefined;
  if (!members) throw unverified(`${where}.header.jwk must be an EC or RSA key`);
  const out: Record<string, string> = {};
  for (const m of members) {
    if (v[m] === undefined) continue;
    if (typeof v[m] !== 'string') throw unverified(`${where}.header.jwk.${m} must be a string`);
    out[m] = v[m];
  }
  return out;
}

async function verify(payload: Buffer, s: Schema1Signature, i: number): Promise<void> {
  const { alg } = s.header;
  // Loaded on the first signed push: the GC and fsck import this module and never verify (~40 ms of start-up).
  const { flattenedVerify, importJWK, importX509 } = await import('jose');
  try {
    // libtrust verifies with the leaf of x5c when there is one, else with jwk.
    const key = s.header.x5c ? await importX509(pem(s.header.x5c[0]!), alg) : await importJWK(s.header.jwk!, alg);
    await flattenedVerify(
      { protected: s.protected, header: { alg }, payload: payload.toString('base64url'), signature: s.signature },
      key,
      { algorithms: ALGORITHMS },
    );
  } catch (err) {
    throw unverified(`signatures[${i}] does not verify: ${(err as Error).message}`);
  }
}

function pem(der64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${der64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** libtrust's indent detection: the whitespace between `{\n` and the first quote. */
function detectIndent(payload: Buffer): string {
  if (payload.length > 2 && payload[0] === 0x7b && payload[1] === 0x0a) {
    const quote = payload.indexOf(0x22, 1);
    if (quote > 1) return payload.subarray(2, quote).toString('utf8');
  }
  return '';
}

function unique(signatures: Schema1Signature[]): Schema1Signature[] {
  const byId = new Map(signatures.map((s) => [signatureId(s), s]));
  return [...byId.values()];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unverified(message: string): RegistryError {
  return new RegistryError('MANIFEST_UNVERIFIED', message);
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
