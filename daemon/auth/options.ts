// The `cairn serve` options for access, TLS and limits, and turning them into the
// AuthConfig the middleware runs on. Defaults keep the laptop case as it was: no
// auth, plain HTTP, no upload cap.
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../../shared/options.js';
import type { Argv } from 'yargs';
import type { Paths } from '../../shared/paths.js';
import type { AuthConfig } from './middleware.js';

export interface SecurityOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  htpasswd?: string;
  rules?: string;
  realm?: string;
  service?: string;
  tokenIssuer?: string;
  tokenKey?: string;
  tokenTtl?: string;
  tokenRealm?: string;
  tokenJwks?: string;
  tokenJwksIssuer?: string;
  readOnly?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  maxUploads?: number;
  headerTimeout?: string;
  idleTimeout?: string;
}

export function securityOptions<T>(yargs: Argv<T>): Argv<T> {
  return yargs
    .option('auth', { type: 'string', choices: ['none', 'htpasswd', 'token'], default: 'none', describe: 'who must sign in: nobody, HTTP Basic against --htpasswd, or Bearer tokens' })
    .option('htpasswd', { type: 'string', describe: 'htpasswd file of bcrypt entries (htpasswd -B); the users of htpasswd and token mode' })
    .option('rules', { type: 'string', describe: 'access rules (JSON or YAML); without it every signed-in user may do everything' })
    .option('realm', { type: 'string', default: 'cairn', describe: 'the realm of the Basic challenge' })
    .option('service', { type: 'string', default: 'cairn', describe: 'token mode: the service named in challenges, the aud of tokens' })
    .option('token-issuer', { type: 'string', default: 'cairn', describe: 'token mode: the iss of tokens this daemon issues' })
    .option('token-key', { type: 'string', describe: 'token mode: ES256 private key (JWK or PKCS#8 PEM); default <root>/auth/token-key.jwk, generated on first start' })
    .option('token-ttl', { type: 'string', default: '5m', describe: 'token mode: lifetime of issued tokens' })
    .option('token-realm', { type: 'string', describe: 'token mode: the token URL named in challenges; default <this server>/token' })
    .option('token-jwks', { type: 'string', describe: 'token mode: JWKS file of an outside issuer whose tokens are accepted too' })
    .option('token-jwks-issuer', { type: 'string', describe: 'the iss those outside tokens carry (needed with --token-jwks)' })
    .option('read-only', { type: 'boolean', default: false, describe: 'refuse every write with 405; reads still work' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain): serve HTTPS' })
    .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
    .option('max-uploads', { type: 'number', default: 0, describe: 'most uploads streaming at once (429 past it); 0 for no cap' })
    .option('header-timeout', { type: 'string', default: '60s', describe: 'time a client has to send the request headers' })
    .option('idle-timeout', { type: 'string', default: '5m', describe: 'close a connection that sends or receives nothing for this long' });
}

export function duration(value: string, flag: string): number {
  const n = parseDuration(value);
  if (n === undefined) throw new Error(`${flag} must be a duration like 30s or 5m, not ${JSON.stringify(value)}`);
  return n;
}

export async function loadAuth(opts: SecurityOptions, paths: Paths): Promise<AuthConfig> {
  const mode = opts.auth ?? 'none';
  if (mode === 'none') {
    if (opts.htpasswd || opts.rules) throw new Error('--htpasswd and --rules need --auth htpasswd or --auth token');
    return { mode };
  }
  // Loaded only with --auth: jose and the token store are no part of an open daemon.
  const [{ Htpasswd }, { Rules }, { TokenService }] = await Promise.all([import('./htpasswd.js'), import('./rules.js'), import('./token.js')]);
  const rules = opts.rules ? await Rules.load(opts.rules) : Rules.signedInMayAll();
  const htpasswd = opts.htpasswd ? await Htpasswd.load(opts.htpasswd) : undefined;
  if (mode === 'htpasswd') {
    if (!htpasswd) throw new Error('--auth htpasswd needs --htpasswd FILE');
    return { mode, htpasswd, rules, realm: opts.realm ?? 'cairn' };
  }
  if (opts.tokenJwks && !opts.tokenJwksIssuer) throw new Error('--token-jwks needs --token-jwks-issuer (the iss its tokens carry)');
  const jwks = opts.tokenJwks
    ? { keys: JSON.parse(await readFile(opts.tokenJwks, 'utf8')), issuer: opts.tokenJwksIssuer! }
    : undefined;
  const tokens = await TokenService.open(
    {
      service: opts.service ?? 'cairn',
      issuer: opts.tokenIssuer ?? 'cairn',
      ttlSeconds: Math.max(1, Math.round(duration(opts.tokenTtl ?? '5m', '--token-ttl') / 1000)),
      jwks,
    },
    opts.tokenKey,
    paths.tokenKey(),
    paths.tmpDir(),
  );
  return { mode, htpasswd, rules, tokens, realm: opts.tokenRealm };
}
