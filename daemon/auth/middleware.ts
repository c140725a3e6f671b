// Who may do what, as one Koa middleware in front of the router. It decides who the
// caller is (Basic against htpasswd, or a Bearer token), what the request needs
// (scope.ts), and either lets it through with `ctx.state.access` set for the
// handlers that filter (catalog, mount) or answers 401/403 with a challenge.
// In token mode it also serves the token endpoint, GET /token.
import type Koa from 'koa';
import type { Context } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { isName } from '../../shared/reference.js';
import type { Logger } from 'pino';
import { queryAll } from '../params.js';
import { type Htpasswd, parseBasic } from './htpasswd.js';
import { type Access, type Identity, NOTHING, type Rules, UNRESTRICTED } from './rules.js';
import { type AccessEntry, ACTIONS, type Action, type Need, needOf, parseScopes, scopeOf } from './scope.js';
import type { TokenService, VerifiedToken } from './token.js';

export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'htpasswd'; htpasswd: Htpasswd; rules: Rules; realm: string }
  | { mode: 'token'; htpasswd?: Htpasswd; rules: Rules; tokens: TokenService; realm?: string };

export const TOKEN_PATH = '/token';

/** The access the request was granted; every caller may do everything when auth is off. */
export function accessOf(ctx: Context): Access {
  return (ctx.state.access as Access | undefined) ?? UNRESTRICTED;
}

export function authMiddleware(config: AuthConfig, logger: Logger): Koa.Middleware {
  if (config.mode === 'none') return async (_ctx, next) => next();
  return async (ctx, next) => {
    ctx.state.access = NOTHING;
    if (config.mode === 'token' && ctx.path === TOKEN_PATH) return tokenEndpoint(ctx, config, logger);
    const need = needOf(ctx.method, ctx.path);
    // Checked before any challenge is built: a name goes into WWW-Authenticate only once it is in the grammar.
    if (need.kind === 'invalid') throw new RegistryError('NAME_INVALID', `invalid repository name: ${JSON.stringify(need.name)}`);
    if (config.mode === 'htpasswd') await basicGate(ctx, config, need, logger);
    else if (need.kind === 'user') await userGate(ctx, config, logger);
    else await bearerGate(ctx, config, need, logger);
    await next();
  };
}

/** Basic credentials against the htpasswd file: undefined when none were sent; 401 when wrong. */
async function basicIdentity(ctx: Context, htpasswd: Htpasswd | undefined, challenge: string, logger: Logger): Promise<Identity> {
  const header = ctx.get('Authorization');
  if (header === '') return {};
  const creds = parseBasic(header);
  if (!creds || !htpasswd || !(await htpasswd.verify(creds.user, creds.password))) {
    logger.warn({ user: creds?.user, path: ctx.path, ip: ctx.ip }, 'authentication failed');
    throw unauthorized('the user name or password is wrong', challenge);
  }
  return { user: creds.user };
}

async function basicGate(ctx: Context, config: Extract<AuthConfig, { mode: 'htpasswd' }>, need: Need, logger: Logger): Promise<void> {
  const challenge = `Basic realm=${quoted(config.realm)},charset="UTF-8"`;
  const who = await basicIdentity(ctx, config.htpasswd, challenge, logger);
  ctx.state.user = who.user;
  const access = config.rules.accessFor(who);
  ctx.state.access = access;
  if (need.kind === 'repository') {
    const refused = need.names.find((n) => !access.may(n, need.action));
    if (refused === undefined) return;
    if (who.user === undefined) throw unauthorized(`${need.action} on ${refused} needs a signed-in user`, challenge);
    throw denied(who.user, need.action, refused);
  }
  if (who.user === undefined) throw unauthorized('authentication required', challenge);
}

/**
 * Token mode, a route for signed-in users (metrics, the page): a Bearer token with a
 * subject, or Basic credentials, so that a browser can sign in. Either way the caller
 * sees what the rules let that user pull, as the catalog does; an anonymous token
 * opens none of it.
 */
async function userGate(ctx: Context, config: Extract<AuthConfig, { mode: 'token' }>, logger: Logger): Promise<void> {
  const challenge = config.htpasswd ? 'Basic realm="cairn",charset="UTF-8"' : bearerChallenge(ctx, config);
  let user: string | undefined;
  if (/^Bearer\s/i.test(ctx.get('Authorization'))) {
    user = (await bearerToken(ctx, config, logger, () => challenge)).subject || undefined;
  } else {
    user = (await basicIdentity(ctx, config.htpasswd, challenge, logger)).user;
  }
  if (user === undefined) throw unauthorized('sign in as a user: an anonymous token opens no page', challenge);
  ctx.state.user = user;
  ctx.state.access = config.rules.accessFor({ user });
}

function bearerChallenge(ctx: Context, config: Extract<AuthConfig, { mode: 'token' }>, scope?: string, error?: string): string {
  const realm = config.realm ?? `${ctx.protocol}://${ctx.host}${TOKEN_PATH}`;
  const params = [`realm=${quoted(realm)}`, `service=${quoted(config.tokens.opts.service)}`];
  if (scope) params.push(`scope=${quoted(scope)}`);
  if (error) params.push(`error=${quoted(error)}`);
  return `Bearer ${params.join(',')}`;
}

/** The request's verified Bearer token; 401 when there is none or it does not verify. */
async function bearerToken(ctx: Context, config: Extract<AuthConfig, { mode: 'token' }>, logger: Logger, challenge: (error?: string) => string): Promise<VerifiedToken> {
  const header = ctx.get('Authorization');
  if (header === '') throw unauthorized('authentication required', challenge());
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthorized('send a Bearer token from the token endpoint', challenge());
  try {
    return await config.tokens.verify(m[1]!);
  } catch (err) {
    logger.warn({ reason: (err as Error).message, path: ctx.path, ip: ctx.ip }, 'token refused');
    throw unauthorized(`the token is not valid: ${(err as Error).message}`, challenge('invalid_token'));
  }
}

async function bearerGate(ctx: Context, config: Extract<AuthConfig, { mode: 'token' }>, need: Need, logger: Logger): Promise<void> {
  const scope = scopeOf(need);
  const challenge = (error?: string) => bearerChallenge(ctx, config, scope, error);
  const token = await bearerToken(ctx, config, logger, challenge);
  ctx.state.user = token.subject || undefined;
  const granted = tokenAccess(token.access);
  ctx.state.access = granted;
  if (need.kind === 'catalog') {
    if (!token.access.some((e) => e.type === 'registry' && e.name === 'catalog' && e.actions.includes('*'))) {
      throw unauthorized('the token does not grant the catalog', challenge('insufficient_scope'));
    }
    // The catalog lists what the token's subject may pull under the rules.
    ctx.state.access = config.rules.accessFor({ user: token.subject || undefined });
  } else if (need.kind === 'repository') {
    const refused = need.names.find((n) => !granted.may(n, need.action));
    if (refused !== undefined) {
      throw unauthorized(`the token does not grant ${need.action} on ${refused}`, challenge('insufficient_scope'));
    }
  }
}

/**
 * A quoted-string for an auth-param (RFC 9110 §5.6.4): backslash and quote escaped,
 * control characters dropped, so no value (a Host header, say) can end the string
 * and add parameters of its own.
 */
export function quoted(value: string): string {
  return `"${value.replace(/[\x00-\x1f\x7f]/g, '').replace(/["\\]/g, '\\$&')}"`;
}

/** What a token's `access` claim grants: exactly the names and actions listed. */
function tokenAccess(entries: AccessEntry[]): Access {
  return {
    unrestricted: false,
    may: (name, action) =>
      entries.some((e) => e.type === 'repository' && e.name === name && (e.actions.includes(action) || e.actions.includes('*'))),
  };
}

/** GET /token?service=&scope=…: Basic credentials (or none), and a JWT carrying only what the rules grant. */
async function tokenEndpoint(ctx: Context, config: Extract<AuthConfig, { mode: 'token' }>, logger: Logger): Promise<void> {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    throw new RegistryError('UNSUPPORTED', `${ctx.method} is not supported on ${TOKEN_PATH}; use GET with Basic credentials`, {
      headers: { Allow: 'GET, HEAD' },
    });
  }
  const who = await basicIdentity(ctx, config.htpasswd, 'Basic realm="token",charset="UTF-8"', logger);
  const service = queryAll(ctx.query.service)[0];
  if (service !== undefined && service !== config.tokens.opts.service) {
    throw new RegistryError('DENIED', `this registry issues tokens for service "${config.tokens.opts.service}", not "${service}"`);
  }
  const access = grant(config.rules, who, parseScopes(queryAll(ctx.query.scope)));
  const { token, expiresIn, issuedAt } = await config.tokens.issue(who.user ?? '', access);
  logger.info({ user: who.user ?? null, access: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`) }, 'token issued');
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt };
}

/** The requested scopes cut down to what the rules allow `who`; nothing else is ever put in a token. */
export function grant(rules: Rules, who: Identity, requested: AccessEntry[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const r of requested) {
    if (r.type === 'registry' && r.name === 'catalog' && r.actions.includes('*') && who.user !== undefined) {
      out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (r.type !== 'repository' || !isName(r.name)) continue;
    const wanted = new Set<Action>(r.actions.includes('*') ? ACTIONS : (r.actions.filter((a) => (ACTIONS as string[]).includes(a)) as Action[]));
    const allowed = rules.actions(who, r.name);
    const actions = ACTIONS.filter((a) => wanted.has(a) && allowed.has(a));
    if (actions.length) out.push({ type: 'repository', name: r.name, actions });
  }
  return out;
}

function unauthorized(message: string, challenge: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
}

function denied(user: string, action: Action, name: string): RegistryError {
  return new RegistryError('DENIED', `${user} may not ${action} ${name}`);
}
