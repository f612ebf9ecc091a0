/**
 * jwt-auth: admits requests carrying a valid JWT (RFC 7519) and sets the identity from its claims.
 * The token comes from `Authorization: Bearer`, optionally a cookie or a query parameter (always removed
 * from the forwarded URL); the Authorization header is not forwarded unless forwardAuthorization is set.
 * Each issuer has an algorithm allow-list and one key source (secret, PEM, JWK or JWKS URL); HS* and
 * public-key algorithms never share an issuer, so algorithm confusion finds no key.
 *
 * Verified tokens are kept in an LRU (by token), no longer than their exp: a hit answers synchronously
 * after re-checking exp and nbf (the route's scopes are checked once, when the token is verified), only a
 * miss returns a promise. Refusals carry RFC 6750 WWW-Authenticate challenges; the failed check goes to the
 * debug log, never to the client.
 * JWKS keys that never loaded give 503 auth_keys_unavailable rather than blaming the token.
 */
import { LRUCache } from 'lru-cache';
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { TOKEN } from '../fields/http-fields.ts';
import { duration } from '../fields/units.ts';
import type { Identity, Exchange } from '../pipeline/exchange.ts';
import { definePolicy, type Policy, type PolicyDeps } from '../pipeline/policy.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import type { Lease } from '../leases/shared-registry.ts';
import { JwksCache } from './jwt-auth/jwks-cache.ts';
import { ALGORITHMS, importPublicKey, isSymmetric, keyMismatch, minSecretBytes, staticKey } from './jwt-auth/key-source.ts';
import { takeToken } from './jwt-auth/token-source.ts';
import { issuerVerifier, jwksVerifier, staticVerifier, type Verify } from './jwt-auth/verifier.ts';

const JWKS_DEFAULTS = { cacheAge: 10 * 60_000, refetchInterval: 30_000, timeout: 5_000 };
const positive = (what: string) => duration().refine((ms) => ms > 0, `${what} must be more than 0`);
/** RFC 6749 scope-token: no space, quote or backslash (it is quoted in WWW-Authenticate). */
const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token (printable ASCII, no space, quote or backslash)');

const issuerSchema = z.strictObject({
  issuer: z.string().min(1).describe('The expected `iss` claim. With several issuers, a token\'s iss picks the entry whose keys and rules apply.'),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional().describe('Accepted `aud` value(s): the token\'s aud must contain one. Unset: aud is not checked.'),
  algorithms: z.array(z.enum(ALGORITHMS)).min(1).describe('Signature algorithms accepted from this issuer. HS256/384/512 need `secret`; RS*, PS*, ES256/384 and EdDSA need publicKey, jwk or jwksUrl. The two kinds cannot be mixed. "none" is never accepted.'),
  secret: z.string().optional().describe('Shared secret for HS* algorithms, at least as many bytes as the hash (32 for HS256, 48 for HS384, 64 for HS512). Use ${ENV_VAR} interpolation rather than writing it into the file.'),
  publicKey: z.string().optional().describe('PEM public key (-----BEGIN PUBLIC KEY-----) or certificate for RS*, PS*, ES* or EdDSA.'),
  jwk: z.looseObject({ kty: z.string() }).optional().describe('One public JSON Web Key (RSA, EC or OKP Ed25519) for RS*, PS*, ES* or EdDSA.'),
  jwksUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional().describe('URL of the issuer\'s JSON Web Key Set (e.g. https://auth.example.com/.well-known/jwks.json). Fetched at start and shared by every route using it; the last good set is kept while the URL fails.'),
  jwksCacheAge: positive('jwksCacheAge').optional().describe('jwksUrl only: how long fetched keys are fresh before a background refetch (default 10m).'),
  jwksRefetchInterval: positive('jwksRefetchInterval').optional().describe('jwksUrl only: least time between refetches asked for by tokens with an unknown kid (default 30s).'),
  jwksTimeout: positive('jwksTimeout').optional().describe('jwksUrl only: time limit on one JWKS fetch (default 5s).'),
}).superRefine((issuer, ctx) => {
  const sources = (['secret', 'publicKey', 'jwk', 'jwksUrl'] as const).filter((k) => issuer[k] !== undefined);
  if (sources.length !== 1) {
    ctx.addIssue({ code: 'custom', path: sources.length ? [sources[1]!] : [], message: sources.length ? `set only one of secret, publicKey, jwk or jwksUrl (got ${sources.join(', ')})` : 'set one key source: secret (HS*), publicKey, jwk or jwksUrl' });
    return;
  }
  for (const key of ['jwksCacheAge', 'jwksRefetchInterval', 'jwksTimeout'] as const) {
    if (issuer[key] !== undefined && issuer.jwksUrl === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is only used with jwksUrl` });
  }
  const symmetric = issuer.algorithms.filter(isSymmetric);
  if (symmetric.length > 0 && symmetric.length < issuer.algorithms.length) {
    ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HS* algorithms cannot be mixed with public-key algorithms in one issuer (algorithm confusion); use two issuer entries' });
    return;
  }
  const source = sources[0]!;
  if (issuer.secret !== undefined) {
    const least = minSecretBytes(issuer.algorithms);
    if (symmetric.length === 0) ctx.addIssue({ code: 'custom', path: ['secret'], message: `a secret verifies only HS256/HS384/HS512; ${issuer.algorithms.join(', ')} need publicKey, jwk or jwksUrl` });
    else if (Buffer.byteLength(issuer.secret) < least) ctx.addIssue({ code: 'custom', path: ['secret'], message: `secret is too short: at least ${least} bytes for ${symmetric.join(', ')}` });
    return;
  }
  if (symmetric.length > 0) {
    ctx.addIssue({ code: 'custom', path: [source], message: `${symmetric.join(', ')} verify with a secret, not ${source}` });
    return;
  }
  try {
    const key = importPublicKey(issuer);
    const mismatch = key && issuer.algorithms.map((alg) => keyMismatch(key, alg)).find(Boolean);
    if (mismatch) ctx.addIssue({ code: 'custom', path: [source], message: mismatch });
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: [source], message: (error as Error).message });
  }
});

export const schema = z.strictObject({
  issuers: z.array(issuerSchema).min(1).describe('Trusted token issuers, each with its algorithms and keys.'),
  leeway: duration().refine((ms) => ms <= 5 * 60_000, 'leeway must be at most 5m').prefault('30s').describe('Clock skew allowed when checking exp and nbf.'),
  requiredClaims: z.array(z.string().min(1)).default([]).describe('Claims every token must carry (e.g. [sub, exp]); a missing one gets 401 token_invalid.'),
  scopes: z.array(scopeToken).default([]).describe('Scopes the route requires, all of them, read from the `scope` claim (space-separated) or `scp` (array or string). A missing one gets 403 insufficient_scope.'),
  consumerClaim: z.string().min(1).optional().describe('Claim naming the consumer (identity consumer header, rate-limit key). Tokens without it are admitted without a consumer; list it in requiredClaims to refuse them.'),
  tokenFrom: z.strictObject({
    header: z.boolean().default(true).describe('Read `Authorization: Bearer <token>`.'),
    cookie: z.string().regex(TOKEN, 'must be a cookie name').optional().describe('Cookie the token may be read from (after the header).'),
    query: z.string().min(1).optional().describe('Query parameter the token may be read from (after header and cookie); it is removed from the forwarded URL.'),
  }).prefault({}).refine((t) => t.header || t.cookie !== undefined || t.query !== undefined, 'with header: false, set cookie or query').describe('Where the token is looked for.'),
  forwardAuthorization: z.boolean().default(false).describe('Forward the Authorization header to the upstream (it is removed by default).'),
  cache: z.strictObject({
    maxEntries: z.number().int().min(0).default(10_000).describe('Verified tokens kept in memory by this policy: a top-level jwt-auth keeps one cache for all the routes that inherit it (least recently used dropped first; 0 turns the cache off).'),
    maxAge: positive('cache.maxAge').prefault('5m').describe('Longest time a verified token is kept, even when its exp is later.'),
  }).prefault({}).describe('The verified-token cache.'),
}).superRefine((config, ctx) => {
  const seen = new Set<string>();
  config.issuers.forEach((issuer, i) => {
    if (seen.has(issuer.issuer)) ctx.addIssue({ code: 'custom', path: ['issuers', i, 'issuer'], message: `issuer "${issuer.issuer}" is listed twice` });
    seen.add(issuer.issuer);
  });
});

export type JwtAuthConfig = z.output<typeof schema>;

const REALM = 'Bearer realm="gatehouse"';
/**
 * The cache is keyed by the token's last characters (signature bytes, uniformly random) and a hit also needs
 * the whole token to be equal: hashing a whole token, a fresh string of hundreds of characters on every
 * request, costs more than the rest of a hit. A tail shared by two tokens only makes one evict the other.
 */
const KEY_CHARS = 24;

/** A verified token, with everything a cache hit needs worked out once. */
interface Verified {
  readonly token: string;
  readonly identity: Identity;
  /** Wall-clock ms from which nbf (with leeway) admits the token: jose's check, in ms so a hit only compares. */
  readonly validFromMs: number;
  /** Wall-clock ms from which exp (with leeway) refuses it. */
  readonly expiredFromMs: number;
  /** The debug-log check naming the first route scope the token lacks; undefined when it has them all. */
  readonly lacksScope: string | undefined;
}

/** The scopes granted by a token: `scope` (space-separated) or else `scp` (array or string). */
export function grantedScopes(payload: JWTPayload): string[] {
  const claim = typeof payload.scope === 'string' ? payload.scope : payload.scp;
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
}

/** The policy with an injectable wall clock (ms), which jose's exp/nbf checks and cache hits both use. */
export function createJwtAuth(config: JwtAuthConfig, deps: PolicyDeps, clock: () => number = Date.now, monotonic?: () => number): Policy {
  const { log, shared } = deps;
  const leeway = config.leeway / 1000;
  const held: Lease<JwksCache>[] = [];
  const byIssuer = new Map<string, Verify>();
  for (const issuer of config.issuers) {
    const rules = { ...issuer, requiredClaims: config.requiredClaims, leeway };
    if (issuer.jwksUrl === undefined) {
      byIssuer.set(issuer.issuer, staticVerifier(rules, staticKey(issuer)!));
      continue;
    }
    const options = {
      url: issuer.jwksUrl, log, now: monotonic,
      cacheAge: issuer.jwksCacheAge ?? JWKS_DEFAULTS.cacheAge,
      refetchInterval: issuer.jwksRefetchInterval ?? JWKS_DEFAULTS.refetchInterval,
      timeout: issuer.jwksTimeout ?? JWKS_DEFAULTS.timeout,
    };
    const key = `jwt-auth:jwks ${options.url} ${options.cacheAge}/${options.refetchInterval}/${options.timeout}`;
    const cache = shared.acquire(key, () => new JwksCache(options));
    held.push(cache);
    byIssuer.set(issuer.issuer, jwksVerifier(rules, cache.value));
  }
  const verify = issuerVerifier(byIssuer);
  const tokens = config.cache.maxEntries > 0 ? new LRUCache<string, Verified>({ max: config.cache.maxEntries, ttl: config.cache.maxAge }) : undefined;

  const required = config.scopes;
  const missing = reply('token_missing', { 'www-authenticate': REALM });
  const invalid = reply('token_invalid', { 'www-authenticate': `${REALM}, error="invalid_token"` });
  const expired = reply('token_expired', { 'www-authenticate': `${REALM}, error="invalid_token", error_description="The access token expired"` });
  const insufficient = reply('insufficient_scope', { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${required.join(' ')}"` });
  const unavailable = reply('auth_keys_unavailable');
  const refusals = { token_invalid: invalid, token_expired: expired, auth_keys_unavailable: unavailable };

  const refuse = (ctx: Exchange, answer: LocalReply, check: string): LocalReply => {
    if (log.isLevelEnabled('debug')) log.debug({ policy: 'jwt-auth', requestId: ctx.requestId, route: ctx.route, reason: answer.reason, check }, 'token refused');
    return answer;
  };

  // The hit path: comparisons only, no allocation.
  const admit = (ctx: Exchange, entry: Verified, nowMs: number): LocalReply | undefined => {
    if (nowMs >= entry.expiredFromMs) return refuse(ctx, expired, 'exp');
    if (nowMs < entry.validFromMs) return refuse(ctx, invalid, 'nbf');
    if (entry.lacksScope !== undefined) return refuse(ctx, insufficient, entry.lacksScope);
    ctx.identity = entry.identity;
    return undefined;
  };

  const remember = (token: string, payload: JWTPayload, nowMs: number): Verified => {
    const consumer = config.consumerClaim === undefined ? undefined : payload[config.consumerClaim];
    const scopes = grantedScopes(payload);
    const lacking = required.find((scope) => !scopes.includes(scope));
    const identity = {
      scopes: Object.freeze(scopes),
      claims: Object.freeze(payload),
      ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
      ...(typeof consumer === 'string' || typeof consumer === 'number' ? { consumer: String(consumer) } : {}),
    };
    // jose compares whole seconds (floor(now / 1000)) with exp and nbf: these bounds are the same tests in ms.
    const entry: Verified = {
      token,
      identity: Object.freeze(identity),
      validFromMs: payload.nbf === undefined ? -Infinity : Math.ceil(payload.nbf - leeway) * 1000,
      expiredFromMs: payload.exp === undefined ? Infinity : Math.ceil(payload.exp + leeway) * 1000,
      lacksScope: lacking === undefined ? undefined : `scope ${lacking} not granted`,
    };
    // The entry never outlives the token's exp (lru-cache drops it), and each hit re-checks exp anyway.
    const ttl = Math.min(config.cache.maxAge, payload.exp === undefined ? Infinity : payload.exp * 1000 - nowMs);
    if (tokens && ttl >= 1) tokens.set(token.slice(-KEY_CHARS), entry, { ttl: Math.floor(ttl) });
    return entry;
  };

  const verifyAndAdmit = async (ctx: Exchange, token: string): Promise<LocalReply | undefined> => {
    const verdict = await verify(token, clock());
    if (!verdict.ok) return refuse(ctx, refusals[verdict.reason], verdict.check);
    const now = clock();
    return admit(ctx, remember(token, verdict.payload, now), now);
  };

  return {
    onRequest(ctx) {
      if (!config.forwardAuthorization && ctx.headers.authorization !== undefined) ctx.removeRequestHeader('authorization');
      const token = takeToken(ctx, config.tokenFrom);
      if (token === undefined) return refuse(ctx, missing, 'no token');
      const hit = tokens?.get(token.slice(-KEY_CHARS));
      return hit?.token === token ? admit(ctx, hit, clock()) : verifyAndAdmit(ctx, token);
    },
    close() {
      for (const cache of held.splice(0)) cache.release();
      tokens?.clear();
    },
  };
}

export const jwtAuth = definePolicy({
  type: 'jwt-auth',
  priority: 1450,
  kind: 'auth',
  schema,
  doc: 'Admits requests with a valid JWT (Authorization: Bearer, or a cookie or query parameter) from a configured issuer: algorithm allow-list per issuer, keys from a secret, PEM, JWK or a JWKS URL (cached, shared, kept through outages), exp/nbf with leeway, iss, aud, required claims and route scopes (403 insufficient_scope). Sets the identity (subject, scopes, claims, optional consumer claim). Verified tokens are cached until they expire.',
  create: (config, deps) => createJwtAuth(config, deps),
});
