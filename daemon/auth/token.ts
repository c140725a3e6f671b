// Bearer tokens (the Docker token flow): the daemon's own issuer signs short-lived
// ES256 JWTs with `jose`, carrying only the granted `access`; every bearer is
// verified for signature, exp, nbf, aud (the service) and iss. Tokens of an outside
// issuer are accepted when its public keys are given as a JWKS file.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import {
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
} from 'jose';
import { createOnce, readOrUndefined } from '../../shared/fsx.js';
import type { AccessEntry } from './scope.js';

export interface TokenOptions {
  /** `aud` of issued tokens and the `service` of challenges. */
  service: string;
  /** `iss` of issued tokens. */
  issuer: string;
  ttlSeconds: number;
  /** An outside issuer: its public keys and its `iss`. */
  jwks?: { keys: JSONWebKeySet; issuer: string };
}

export interface VerifiedToken {
  /** The user the token was issued to; '' for an anonymous one. */
  subject: string;
  access: AccessEntry[];
  issuer: string;
}

const OUTSIDE_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

export class TokenService {
  readonly opts: TokenOptions;
  private readonly privateKey: CryptoKey;
  private readonly publicKey: CryptoKey;
  readonly kid: string;
  private readonly outside?: ReturnType<typeof createLocalJWKSet>;

  private constructor(opts: TokenOptions, privateKey: CryptoKey, publicKey: CryptoKey, kid: string) {
    this.opts = opts;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.kid = kid;
    if (opts.jwks) this.outside = createLocalJWKSet(opts.jwks.keys);
  }

  /** Loads the signing key from `keyFile` (a private JWK or PKCS#8 PEM), or from `defaultFile`, creating it there on first start. */
  static async open(opts: TokenOptions, keyFile: string | undefined, defaultFile: string, tmpDir: string): Promise<TokenService> {
    const jwk = keyFile ? await readKeyFile(keyFile) : await loadOrCreateKey(defaultFile, tmpDir);
    const privateKey = (await importJWK({ ...jwk, alg: 'ES256' }, 'ES256')) as CryptoKey;
    const { d: _d, ...pub } = jwk;
    const publicKey = (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as CryptoKey;
    const kid = await calculateJwkThumbprint(pub);
    return new TokenService(opts, privateKey, publicKey, kid);
  }

  async issue(subject: string, access: AccessEntry[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.opts.issuer)
      .setSubject(subject)
      .setAudience(this.opts.service)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + this.opts.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.opts.ttlSeconds, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** Verifies a bearer token; throws (a jose error) when it is not good. */
  async verify(token: string): Promise<VerifiedToken> {
    const header = decodeProtectedHeader(token);
    const common = { audience: this.opts.service, clockTolerance: 5, requiredClaims: ['exp', 'iss', 'aud'] };
    let payload: JWTPayload;
    if (header.kid === this.kid || !this.outside) {
      ({ payload } = await jwtVerify(token, this.publicKey, { ...common, issuer: this.opts.issuer, algorithms: ['ES256'] }));
    } else {
      ({ payload } = await jwtVerify(token, this.outside, { ...common, issuer: this.opts.jwks!.issuer, algorithms: OUTSIDE_ALGS }));
    }
    return { subject: typeof payload.sub === 'string' ? payload.sub : '', access: accessClaim(payload.access), issuer: payload.iss! };
  }
}

function accessClaim(raw: unknown): AccessEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (e): e is AccessEntry =>
      typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.name === 'string' &&
      Array.isArray(e.actions) && e.actions.every((a: unknown) => typeof a === 'string'),
  );
}

async function readKeyFile(file: string): Promise<JWK> {
  const text = await fs.readFile(file, 'utf8');
  if (text.trimStart().startsWith('{')) return checkKey(JSON.parse(text) as JWK, file);
  const key = await importPKCS8(text, 'ES256', { extractable: true });
  return checkKey(await exportJWK(key), file);
}

function checkKey(jwk: JWK, where: string): JWK {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d) throw new Error(`${where}: expected a private EC P-256 key (ES256)`);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d };
}

/** The key under the root, generated on first start; two daemons starting on one root agree on one key (fsx.createOnce). */
async function loadOrCreateKey(file: string, tmpDir: string): Promise<JWK> {
  const existing = await readOrUndefined(file);
  if (existing) return checkKey(JSON.parse(existing.toString('utf8')) as JWK, file);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = checkKey(await exportJWK(privateKey), 'generated key');
  const stored = await createOnce(tmpDir, file, Buffer.from(JSON.stringify(jwk)), 0o600);
  return checkKey(JSON.parse(stored.toString('utf8')) as JWK, file);
}
