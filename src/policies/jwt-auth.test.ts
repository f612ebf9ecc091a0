import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload,
} from 'jose';
import pino from 'pino';
import { until } from '../../test/helpers/fake-upstream.ts';
import { mockJwksEndpoint, startJwksServer } from '../../test/helpers/mock-jwks.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Policy } from '../pipeline/policy.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { createJwtAuth, grantedScopes, schema } from './jwt-auth.ts';

const ISS = 'https://auth.example.com/';
const SECRET = 's3cr3t-'.repeat(5); // 35 bytes
const T0 = Math.floor(Date.now() / 1000) * 1000;
const rsa = await generateKeyPair('RS256', { extractable: true });
const rsaPem = await exportSPKI(rsa.publicKey);
const ec = await generateKeyPair('ES256');
const ed = await generateKeyPair('EdDSA');

const ctx = (headers: IncomingHttpHeaders = {}, query = ''): Exchange => testExchange({ headers, query });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface SignOptions { alg?: string; kid?: string; key?: CryptoKey | Uint8Array; iat?: boolean }

/** A token from ISS valid from T0 for an hour unless claims say otherwise. */
async function sign(claims: JWTPayload = {}, { alg = 'HS256', kid, key, iat = true }: SignOptions = {}): Promise<string> {
  const jwt = new SignJWT({ iss: ISS, sub: 'user-1', exp: T0 / 1000 + 3600, ...(iat ? { iat: T0 / 1000 } : {}), ...claims });
  jwt.setProtectedHeader({ alg, ...(kid ? { kid } : {}) });
  return jwt.sign(key ?? new TextEncoder().encode(SECRET));
}

interface Harness {
  readonly policy: Policy;
  readonly shared: SharedResources;
  readonly clock: { now: number; mono: number };
  readonly lines: string[];
  run(c: Exchange): Promise<LocalReply | undefined>;
}

const opened: Policy[] = [];
// A failed assertion skips a test's own cleanup; this keeps JWKS caches from outliving the file.
after(() => {
  for (const policy of opened) policy.close?.();
});

function harness(settings: Record<string, unknown>, shared = new SharedResources()): Harness {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => { lines.push(line); } });
  const clock = { now: T0, mono: 0 };
  const policy = createJwtAuth(schema.parse(settings), { log, shared }, () => clock.now, () => clock.mono);
  opened.push(policy);
  return { policy, shared, clock, lines, run: async (c) => policy.onRequest!(c) };
}

const hs = (extra: Record<string, unknown> = {}, issuer: Record<string, unknown> = {}) =>
  harness({ issuers: [{ issuer: ISS, algorithms: ['HS256'], secret: SECRET, ...issuer }], ...extra });

function assertRefused(out: LocalReply | undefined, status: number, reason: string, challenge?: string | RegExp): void {
  assert.ok(out, `expected ${status} ${reason}, got admitted`);
  assert.equal(out.status, status);
  assert.equal(out.reason, reason);
  const header = out.headers?.['www-authenticate'];
  if (challenge instanceof RegExp) assert.match(header ?? '', challenge);
  else if (challenge !== undefined) assert.equal(header, challenge);
}

describe('jwt-auth schema', () => {
  const ok = (issuer: Record<string, unknown>, extra: Record<string, unknown> = {}) => schema.safeParse({ issuers: [{ issuer: ISS, ...issuer }], ...extra });
  const problems = (issuer: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const parsed = ok(issuer, extra);
    assert.equal(parsed.success, false, 'expected a rejection');
    return parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };

  it('accepts an HS256 issuer and fills in the defaults', () => {
    const parsed = schema.parse({ issuers: [{ issuer: ISS, algorithms: ['HS256'], secret: SECRET }] });
    assert.equal(parsed.leeway, 30_000);
    assert.deepEqual(parsed.scopes, []);
    assert.deepEqual(parsed.requiredClaims, []);
    assert.deepEqual(parsed.tokenFrom, { header: true });
    assert.equal(parsed.forwardAuthorization, false);
    assert.deepEqual(parsed.cache, { maxEntries: 10_000, maxAge: 300_000 });
  });

  it('accepts public-key issuers from a PEM, a JWK and a JWKS URL with durations', async () => {
    assert.ok(ok({ algorithms: ['RS256', 'PS256'], publicKey: rsaPem }).success);
    assert.ok(ok({ algorithms: ['ES256'], jwk: await exportJWK(ec.publicKey) }).success);
    assert.ok(ok({ algorithms: ['EdDSA'], jwk: await exportJWK(ed.publicKey) }).success);
    const parsed = schema.parse({
      issuers: [{ issuer: ISS, audience: ['api'], algorithms: ['RS256'], jwksUrl: 'https://auth.example.com/jwks.json', jwksCacheAge: '10m', jwksRefetchInterval: '30s', jwksTimeout: '5s' }],
      leeway: '10s', requiredClaims: ['sub'], scopes: ['orders:read'], tokenFrom: { header: true, cookie: 'session', query: 'access_token' },
      forwardAuthorization: true, cache: { maxEntries: 5 }, consumerClaim: 'client_id',
    });
    assert.equal(parsed.issuers[0]!.jwksCacheAge, 600_000);
    assert.equal(parsed.leeway, 10_000);
  });

  it('rejects unknown keys at the top level and in an issuer', () => {
    assert.match(problems({ algorithms: ['HS256'], secret: SECRET }, { leway: '1s' }), /leway/);
    assert.match(problems({ algorithms: ['HS256'], secret: SECRET, audiences: ['x'] }), /audiences/);
  });

  it('rejects a secret shorter than 32 bytes, or shorter than the hash for HS384/HS512', () => {
    assert.match(problems({ algorithms: ['HS256'], secret: 'x'.repeat(31) }), /secret: secret is too short: at least 32 bytes/);
    assert.match(problems({ algorithms: ['HS512'], secret: 'x'.repeat(40) }), /at least 64 bytes/);
  });

  it('refuses keys that do not fit the algorithms (algorithm confusion)', async () => {
    assert.match(problems({ algorithms: ['HS256'], publicKey: rsaPem }), /publicKey: HS256 verify with a secret/);
    assert.match(problems({ algorithms: ['RS256'], secret: SECRET }), /secret: a secret verifies only HS/);
    assert.match(problems({ algorithms: ['HS256', 'RS256'], secret: SECRET }), /algorithms: HS\* algorithms cannot be mixed/);
    assert.match(problems({ algorithms: ['ES256'], publicKey: rsaPem }), /ES256 needs an EC P-256 key, got rsa key/);
    assert.match(problems({ algorithms: ['ES384'], jwk: await exportJWK(ec.publicKey) }), /ES384 needs an EC P-384 key/);
    assert.match(problems({ algorithms: ['EdDSA'], publicKey: rsaPem }), /EdDSA needs an Ed25519 key/);
  });

  it('refuses alg none, unknown algorithms and an empty list', () => {
    assert.match(problems({ algorithms: ['none'], secret: SECRET }), /algorithms/);
    assert.match(problems({ algorithms: ['HS1'], secret: SECRET }), /algorithms/);
    assert.match(problems({ algorithms: [], secret: SECRET }), /algorithms/);
  });

  it('needs exactly one key source', async () => {
    assert.match(problems({ algorithms: ['RS256'] }), /set one key source/);
    assert.match(problems({ algorithms: ['RS256'], publicKey: rsaPem, jwk: await exportJWK(rsa.publicKey) }), /jwk: set only one of/);
  });

  it('refuses private key material, broken keys and RSA keys under 2048 bits', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.match(problems({ algorithms: ['RS256'], publicKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) }), /holds a private key/);
    assert.match(problems({ algorithms: ['RS256'], publicKey: 'not a pem' }), /not a PEM public key/);
    assert.match(problems({ algorithms: ['RS256'], publicKey: publicKey.export({ type: 'spki', format: 'pem' }) }), /at least 2048 bits/);
    const privateJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    assert.match(problems({ algorithms: ['ES256'], jwk: privateJwk }), /private or secret key material/);
    assert.match(problems({ algorithms: ['ES256'], jwk: { kty: 'EC', crv: 'P-256' } }), /not a valid public JSON Web Key/);
  });

  it('refuses JWKS settings without a jwksUrl, a non-http URL and zero durations', () => {
    assert.match(problems({ algorithms: ['RS256'], publicKey: rsaPem, jwksCacheAge: '1m' }), /jwksCacheAge: jwksCacheAge is only used with jwksUrl/);
    assert.match(problems({ algorithms: ['RS256'], jwksUrl: 'ftp://x/jwks' }), /jwksUrl/);
    assert.match(problems({ algorithms: ['RS256'], jwksUrl: 'https://x/jwks', jwksTimeout: 0 }), /jwksTimeout must be more than 0/);
  });

  it('refuses duplicate issuers, no token source, bad scopes and a huge leeway', () => {
    const issuer = { issuer: ISS, algorithms: ['HS256'], secret: SECRET };
    assert.equal(schema.safeParse({ issuers: [issuer, issuer] }).success, false);
    assert.equal(schema.safeParse({ issuers: [issuer], tokenFrom: { header: false } }).success, false);
    assert.equal(schema.safeParse({ issuers: [issuer], scopes: ['a b'] }).success, false);
    assert.equal(schema.safeParse({ issuers: [issuer], scopes: ['a"b'] }).success, false);
    assert.equal(schema.safeParse({ issuers: [issuer], leeway: '1h' }).success, false);
    assert.equal(schema.safeParse({ issuers: [] }).success, false);
  });
});

describe('jwt-auth admitting tokens', () => {
  it('admits a valid token and sets the identity', async () => {
    const h = hs({ consumerClaim: 'client_id' });
    const c = ctx(bearer(await sign({ scope: 'a b', client_id: 'shop' })));
    assert.equal(await h.run(c), undefined);
    assert.equal(c.identity?.subject, 'user-1');
    assert.equal(c.identity?.consumer, 'shop');
    assert.deepEqual(c.identity?.scopes, ['a', 'b']);
    assert.equal(c.identity?.claims?.iss, ISS);
  });

  it('removes the Authorization header unless forwardAuthorization is set', async () => {
    const token = await sign();
    const c = ctx(bearer(token));
    await hs().run(c);
    assert.ok(c.removedHeaders?.includes('authorization'));
    const kept = ctx(bearer(token));
    await hs({ forwardAuthorization: true }).run(kept);
    assert.equal(kept.removedHeaders, undefined);
  });

  it('removes the Authorization header even when the token is refused', async () => {
    const c = ctx(bearer('garbage'));
    assertRefused(await hs().run(c), 401, 'token_invalid');
    assert.ok(c.removedHeaders?.includes('authorization'));
  });

  it('reads scopes from a scope string, an scp array or an scp string', () => {
    assert.deepEqual(grantedScopes({ scope: ' a  b ' }), ['a', 'b']);
    assert.deepEqual(grantedScopes({ scp: ['a', 'b', 3] }), ['a', 'b']);
    assert.deepEqual(grantedScopes({ scp: 'a b' }), ['a', 'b']);
    assert.deepEqual(grantedScopes({}), []);
  });

  it('admits when the token has every required scope, by scope or scp', async () => {
    const h = hs({ scopes: ['orders:read', 'orders:write'] });
    assert.equal(await h.run(ctx(bearer(await sign({ scope: 'orders:write x orders:read' })))), undefined);
    assert.equal(await h.run(ctx(bearer(await sign({ scp: ['orders:read', 'orders:write'] })))), undefined);
  });

  it('picks the issuer by iss when several are configured', async () => {
    const h = harness({ issuers: [
      { issuer: 'https://other.example.com/', algorithms: ['HS256'], secret: 'o'.repeat(32) },
      { issuer: ISS, algorithms: ['RS256'], publicKey: rsaPem },
    ] });
    assert.equal(await h.run(ctx(bearer(await sign({}, { alg: 'RS256', key: rsa.privateKey })))), undefined);
    const other = await sign({ iss: 'https://other.example.com/' }, { key: new TextEncoder().encode('o'.repeat(32)) });
    assert.equal(await h.run(ctx(bearer(other))), undefined);
    assertRefused(await h.run(ctx(bearer(await sign({ iss: 'https://nobody/' })))), 401, 'token_invalid');
  });

  it('verifies ES256 and EdDSA tokens with a configured JWK', async () => {
    const es = harness({ issuers: [{ issuer: ISS, algorithms: ['ES256'], jwk: await exportJWK(ec.publicKey) }] });
    assert.equal(await es.run(ctx(bearer(await sign({}, { alg: 'ES256', key: ec.privateKey })))), undefined);
    const eddsa = harness({ issuers: [{ issuer: ISS, algorithms: ['EdDSA'], jwk: await exportJWK(ed.publicKey) }] });
    assert.equal(await eddsa.run(ctx(bearer(await sign({}, { alg: 'EdDSA', key: ed.privateKey })))), undefined);
  });
});

describe('jwt-auth refusing tokens', () => {
  const INVALID = 'Bearer realm="gatehouse", error="invalid_token"';

  it('answers 401 token_missing with a bare challenge when no token is presented', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer ' }]) {
      assertRefused(await hs().run(ctx(headers)), 401, 'token_missing', 'Bearer realm="gatehouse"');
    }
  });

  it('refuses an unsigned token (alg none)', async () => {
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const none = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: ISS, sub: 'admin', exp: T0 / 1000 + 60 })}.`;
    assertRefused(await hs().run(ctx(bearer(none))), 401, 'token_invalid', INVALID);
  });

  it('refuses a token whose payload was tampered with', async () => {
    const [head, , sig] = (await sign({ scope: 'read' })).split('.');
    const forged = `${head}.${base64url.encode(JSON.stringify({ iss: ISS, sub: 'user-1', exp: T0 / 1000 + 3600, scope: 'admin' }))}.${sig}`;
    assertRefused(await hs().run(ctx(bearer(forged))), 401, 'token_invalid', INVALID);
  });

  it('refuses a token signed with another secret, and garbage', async () => {
    const other = await sign({}, { key: new TextEncoder().encode('z'.repeat(32)) });
    assertRefused(await hs().run(ctx(bearer(other))), 401, 'token_invalid', INVALID);
    for (const junk of ['a.b.c', 'abc', '...', 'ey.ey.ey']) assertRefused(await hs().run(ctx(bearer(junk))), 401, 'token_invalid');
  });

  it('answers 401 token_expired once exp is past the leeway', async () => {
    const token = await sign({ exp: T0 / 1000 - 31 });
    assertRefused(await hs().run(ctx(bearer(token))), 401, 'token_expired', 'Bearer realm="gatehouse", error="invalid_token", error_description="The access token expired"');
  });

  it('honours the leeway for exp and nbf', async () => {
    assert.equal(await hs().run(ctx(bearer(await sign({ exp: T0 / 1000 - 20 })))), undefined);
    assert.equal(await hs().run(ctx(bearer(await sign({ nbf: T0 / 1000 + 20 })))), undefined);
    assertRefused(await hs({ leeway: '10s' }).run(ctx(bearer(await sign({ exp: T0 / 1000 - 20 })))), 401, 'token_expired');
  });

  it('refuses a token that is not valid yet (nbf in the future)', async () => {
    assertRefused(await hs().run(ctx(bearer(await sign({ nbf: T0 / 1000 + 120 })))), 401, 'token_invalid', INVALID);
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    assertRefused(await hs().run(ctx(bearer(await sign({ iss: 'https://evil.example.com/' })))), 401, 'token_invalid');
    const h = hs({}, { audience: ['api', 'admin'] });
    assertRefused(await h.run(ctx(bearer(await sign({ aud: 'web' })))), 401, 'token_invalid');
    assertRefused(await h.run(ctx(bearer(await sign()))), 401, 'token_invalid');
    assert.equal(await h.run(ctx(bearer(await sign({ aud: ['web', 'admin'] })))), undefined);
  });

  it('refuses a token without a required claim', async () => {
    const h = hs({ requiredClaims: ['sub', 'tenant'] });
    assertRefused(await h.run(ctx(bearer(await sign()))), 401, 'token_invalid');
    assert.equal(await h.run(ctx(bearer(await sign({ tenant: 't1' })))), undefined);
  });

  it('answers 403 insufficient_scope naming the required scopes', async () => {
    const h = hs({ scopes: ['orders:read', 'orders:write'] });
    for (const claims of [{ scope: 'orders:read' }, { scp: ['orders:write'] }, {}]) {
      const c = ctx(bearer(await sign(claims)));
      assertRefused(await h.run(c), 403, 'insufficient_scope', 'Bearer realm="gatehouse", error="insufficient_scope", scope="orders:read orders:write"');
      assert.equal(c.identity, undefined);
    }
  });

  it('logs the failed check at debug with the request ID and never the token', async () => {
    const h = hs({}, { audience: 'api' });
    const token = await sign({ aud: 'web' });
    await h.run(testExchange({ requestId: 'req-42', headers: bearer(token) }));
    const line = JSON.parse(h.lines.at(-1)!) as Record<string, unknown>;
    assert.equal(line.level, 20);
    assert.equal(line.requestId, 'req-42');
    assert.equal(line.reason, 'token_invalid');
    assert.equal(line.check, 'aud check_failed');
    assert.ok(h.lines.every((l) => !l.includes(token) && !l.includes(token.split('.')[2]!)));
  });
});

describe('jwt-auth and algorithm confusion', () => {
  it('refuses an HS256 token signed with the RS256 public key PEM', async () => {
    const h = harness({ issuers: [{ issuer: ISS, algorithms: ['RS256'], publicKey: rsaPem }] });
    const forged = await sign({ sub: 'admin' }, { alg: 'HS256', key: new TextEncoder().encode(rsaPem) });
    assertRefused(await h.run(ctx(bearer(forged))), 401, 'token_invalid');
    assert.equal(JSON.parse(h.lines.at(-1)!).check, 'ERR_JOSE_ALG_NOT_ALLOWED');
    assert.equal(await h.run(ctx(bearer(await sign({}, { alg: 'RS256', key: rsa.privateKey })))), undefined);
  });

  it('refuses an RS256 token against an ES256 issuer', async () => {
    const h = harness({ issuers: [{ issuer: ISS, algorithms: ['ES256'], jwk: await exportJWK(ec.publicKey) }] });
    assertRefused(await h.run(ctx(bearer(await sign({}, { alg: 'RS256', key: rsa.privateKey })))), 401, 'token_invalid');
  });
});

describe('jwt-auth token sources', () => {
  it('reads the token from the configured cookie', async () => {
    const h = hs({ tokenFrom: { cookie: 'session' } });
    assert.equal(await h.run(ctx({ cookie: `theme=dark; session=${await sign()}` })), undefined);
  });

  it('reads the token from the query parameter and removes it from the forwarded URL', async () => {
    const h = hs({ tokenFrom: { query: 'access_token' } });
    const c = ctx({}, `?page=2&access_token=${await sign()}`);
    assert.equal(await h.run(c), undefined);
    assert.equal(c.query, '?page=2');
  });

  it('removes the query parameter even when the token there is refused', async () => {
    const h = hs({ tokenFrom: { query: 'access_token' } });
    const c = ctx({}, '?access_token=bad.to.ken');
    assertRefused(await h.run(c), 401, 'token_invalid');
    assert.equal(c.query, '');
  });

  it('ignores the Authorization header when header is off', async () => {
    const h = hs({ tokenFrom: { header: false, cookie: 'session' } });
    assertRefused(await h.run(ctx(bearer(await sign()))), 401, 'token_missing');
  });
});

describe('jwt-auth verified-token cache', () => {
  it('answers a repeated token synchronously and sets the identity', async () => {
    const h = hs();
    const token = await sign();
    const first = h.policy.onRequest!(ctx(bearer(token)));
    assert.ok(first instanceof Promise, 'a miss returns a promise');
    assert.equal(await first, undefined);
    const c = ctx(bearer(token));
    assert.equal(h.policy.onRequest!(c), undefined, 'a hit answers synchronously');
    assert.equal(c.identity?.subject, 'user-1');
    assert.ok(c.removedHeaders?.includes('authorization'));
  });

  it('refuses a cached token once exp has passed beyond the leeway, synchronously', async () => {
    const h = hs({ leeway: '5s' });
    const token = await sign({ exp: T0 / 1000 + 60 });
    assert.equal(await h.run(ctx(bearer(token))), undefined);
    h.clock.now = T0 + 64_000;
    assert.equal(h.policy.onRequest!(ctx(bearer(token))), undefined, 'within the leeway');
    h.clock.now = T0 + 65_000;
    const out = h.policy.onRequest!(ctx(bearer(token)));
    assert.ok(!(out instanceof Promise));
    assertRefused(out, 401, 'token_expired');
  });

  it('re-checks the route scopes on a hit', async () => {
    const h = hs({ scopes: ['admin'] });
    const token = await sign({ scope: 'read' });
    assertRefused(await h.run(ctx(bearer(token))), 403, 'insufficient_scope');
    const out = h.policy.onRequest!(ctx(bearer(token)));
    assert.ok(!(out instanceof Promise));
    assertRefused(out, 403, 'insufficient_scope');
  });

  it('never answers a different token from the cache, even one with the same signature', async () => {
    const h = hs();
    const token = await sign({ scope: 'read' });
    assert.equal(await h.run(ctx(bearer(token))), undefined);
    const [head, , sig] = token.split('.');
    const forged = `${head}.${base64url.encode(JSON.stringify({ iss: ISS, sub: 'admin', exp: T0 / 1000 + 3600 }))}.${sig}`;
    const out = h.policy.onRequest!(ctx(bearer(forged)));
    assert.ok(out instanceof Promise, 'verified, not looked up');
    assertRefused(await out, 401, 'token_invalid');
    assert.equal(h.policy.onRequest!(ctx(bearer(token))), undefined, 'the genuine token still hits');
  });

  it('does not cache refused tokens', async () => {
    const h = hs();
    const token = await sign({ iss: 'https://evil/' });
    await h.run(ctx(bearer(token)));
    assert.ok(h.policy.onRequest!(ctx(bearer(token))) instanceof Promise);
  });

  it('does not cache a token admitted within the leeway after its exp', async () => {
    const h = hs();
    const token = await sign({ exp: T0 / 1000 - 10 });
    assert.equal(await h.run(ctx(bearer(token))), undefined);
    assert.ok(h.policy.onRequest!(ctx(bearer(token))) instanceof Promise, 'verified again, not a hit');
  });

  it('verifies every time when the cache is off', async () => {
    const h = hs({ cache: { maxEntries: 0 } });
    const token = await sign();
    assert.equal(await h.run(ctx(bearer(token))), undefined);
    assert.ok(h.policy.onRequest!(ctx(bearer(token))) instanceof Promise);
  });
});

// ---------------------------------------------------------------- JWKS

const rsaJwk: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const rotated = await generateKeyPair('RS256');
const rotatedJwk: JWK = { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'RS256' };

function jwksHarness(url: string, issuer: Record<string, unknown> = {}, shared?: SharedResources): Harness {
  return harness({ issuers: [{ issuer: ISS, algorithms: ['RS256'], jwksUrl: url, ...issuer }] }, shared);
}

const rsToken = (kid: string, key: CryptoKey = rsa.privateKey, claims: JWTPayload = {}) => sign(claims, { alg: 'RS256', kid, key });

/** Lets a fetch from mockJwksEndpoint finish: answered in memory, it settles in promise turns, all before the next immediate. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

// Before any test that starts a real server: see test/helpers/mock-jwks.ts. The harness's monotonic clock stands
// still, so only the cache's own timers fetch, and a request that finds no keys waits for the fetch in flight.
describe('jwt-auth with a JWKS URL, as time passes', () => {
  it('answers 503 auth_keys_unavailable while keys never loaded, then recovers on a retry', async (t) => {
    const endpoint = mockJwksEndpoint(t, [rsaJwk], 'down');
    const h = jwksHarness(endpoint.url, { jwksRefetchInterval: '100ms' });
    const token = await rsToken('k1');
    // A request finds no keys and waits for the fetch in flight, if any.
    assertRefused(await h.run(ctx(bearer(token))), 503, 'auth_keys_unavailable');
    assertRefused(await h.run(ctx(bearer(token))), 503, 'auth_keys_unavailable');
    assertRefused(await h.run(ctx()), 401, 'token_missing');
    // The clock used for the kid rate limit stands still: only the background retries can fetch.
    assert.equal(endpoint.hits.length, 1);
    // Backoff steps of 100 and 200 ms (the jitter only shortens them).
    t.mock.timers.tick(100);
    assert.equal(endpoint.hits.length, 2, 'first retry');
    assertRefused(await h.run(ctx(bearer(token))), 503, 'auth_keys_unavailable');
    t.mock.timers.tick(200);
    assert.equal(endpoint.hits.length, 3, 'second retry');
    assertRefused(await h.run(ctx(bearer(token))), 503, 'auth_keys_unavailable');
    endpoint.mode = 'up';
    t.mock.timers.tick(400);
    assert.equal(endpoint.hits.length, 4, 'third retry');
    assert.equal(await h.run(ctx(bearer(token))), undefined);
    h.policy.close!();
  });

  it('keeps admitting known kids when the endpoint fails after keys loaded', async (t) => {
    const endpoint = mockJwksEndpoint(t, [rsaJwk]);
    const h = jwksHarness(endpoint.url, { jwksCacheAge: '200ms', jwksRefetchInterval: '100ms' });
    await settle();
    assert.equal(endpoint.hits.length, 1, 'warm-up fetch');
    endpoint.mode = 'down';
    t.mock.timers.tick(200);
    assert.equal(endpoint.hits.length, 2, 'the refresh at the cache age');
    await settle();
    t.mock.timers.tick(100);
    assert.equal(endpoint.hits.length, 3, 'its retry');
    await settle();
    assert.equal(h.lines.filter((line) => line.includes('JWKS refetch failed; keeping the last good keys')).length, 2);
    for (let i = 0; i < 3; i++) {
      assert.equal(await h.run(ctx(bearer(await rsToken('k1', rsa.privateKey, { jti: `t${i}` })))), undefined);
    }
    h.policy.close!();
  });

  it('stops fetching once closed', async (t) => {
    const endpoint = mockJwksEndpoint(t, [rsaJwk]);
    const h = jwksHarness(endpoint.url, { jwksCacheAge: '20ms' });
    await settle();
    t.mock.timers.tick(20);
    assert.equal(endpoint.hits.length, 2, 'background refresh');
    await settle();
    h.policy.close!();
    assert.equal(h.shared.size, 0);
    // Many cache ages later: nothing fetches.
    t.mock.timers.tick(60_000);
    assert.equal(endpoint.hits.length, 2);
  });
});

describe('jwt-auth with a JWKS URL', () => {
  it('fetches the keys at creation and admits tokens by kid', async (t) => {
    const server = await startJwksServer(t, [rsaJwk]);
    const h = jwksHarness(server.url);
    await until(() => server.hits.length === 1, 2000, 'warm-up fetch');
    assert.equal(await h.run(ctx(bearer(await rsToken('k1')))), undefined);
    assert.equal(server.hits.length, 1);
    h.policy.close!();
  });

  it('refetches once for an unknown kid, shared by concurrent requests, then answers 401', async (t) => {
    const server = await startJwksServer(t, [rsaJwk]);
    const h = jwksHarness(server.url, { jwksRefetchInterval: '30s' });
    assert.equal(await h.run(ctx(bearer(await rsToken('k1')))), undefined);
    h.clock.mono += 30_000;
    const unknown = await rsToken('k9', rotated.privateKey);
    const outs = await Promise.all(Array.from({ length: 5 }, () => h.run(ctx(bearer(unknown)))));
    for (const out of outs) assertRefused(out, 401, 'token_invalid');
    assert.equal(server.hits.length, 2, 'one refetch for five requests');
    assert.equal(JSON.parse(h.lines.at(-1)!).check, 'kid not in the JWKS');
    assertRefused(await h.run(ctx(bearer(unknown))), 401, 'token_invalid');
    assert.equal(server.hits.length, 2, 'no second refetch within the interval');
    h.policy.close!();
  });

  it('admits a token signed with a rotated-in key after one refetch', async (t) => {
    const server = await startJwksServer(t, [rsaJwk]);
    const h = jwksHarness(server.url, { jwksRefetchInterval: '30s' });
    await until(() => server.hits.length === 1, 2000, 'warm-up fetch');
    server.keys = [rsaJwk, rotatedJwk];
    h.clock.mono += 30_000;
    assert.equal(await h.run(ctx(bearer(await rsToken('k2', rotated.privateKey)))), undefined);
    assert.equal(server.hits.length, 2);
    h.policy.close!();
  });

  it('answers 503 when the JWKS endpoint refuses connections', async (t) => {
    const server = await startJwksServer(t, [rsaJwk]);
    const url = server.url;
    await server.close();
    const h = jwksHarness(url);
    assertRefused(await h.run(ctx(bearer(await rsToken('k1')))), 503, 'auth_keys_unavailable');
    h.policy.close!();
  });

  it('shares one JWKS cache by URL across policies and closes it with the last one', async (t) => {
    const server = await startJwksServer(t, [rsaJwk]);
    const shared = new SharedResources();
    const a = jwksHarness(server.url, {}, shared);
    const b = jwksHarness(server.url, {}, shared);
    await until(() => server.hits.length === 1, 2000, 'warm-up fetch');
    assert.equal(await b.run(ctx(bearer(await rsToken('k1')))), undefined);
    assert.equal(shared.size, 1);
    assert.equal(server.hits.length, 1, 'one fetch for both');
    a.policy.close!();
    assert.equal(shared.size, 1);
    assert.equal(await b.run(ctx(bearer(await rsToken('k1', rsa.privateKey, { jti: 'x' })))), undefined);
    b.policy.close!();
    b.policy.close!();
    assert.equal(shared.size, 0);
  });

  it('tries each key of the set for a token without kid, and refetches nothing when none verifies', async (t) => {
    const anonymous = async (key: CryptoKey): Promise<JWK> => ({ ...(await exportJWK(key)), alg: 'RS256' });
    const server = await startJwksServer(t, [await anonymous(rsa.publicKey), await anonymous(rotated.publicKey)]);
    const h = jwksHarness(server.url);
    assert.equal(await h.run(ctx(bearer(await sign({}, { alg: 'RS256', key: rotated.privateKey })))), undefined, 'the second key verifies');
    const stranger = await generateKeyPair('RS256');
    assertRefused(await h.run(ctx(bearer(await sign({}, { alg: 'RS256', key: stranger.privateKey })))), 401, 'token_invalid');
    assert.equal(JSON.parse(h.lines.at(-1)!).check, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    assert.equal(server.hits.length, 1, 'keys matched, the signature did not: no refetch');
    h.policy.close!();
  });
});

it('maps each jose error to a reason and logs the failed check, never the library text', async () => {
  const h = hs({}, { audience: 'api' });
  const cases: Array<[token: string, reason: string, check: string]> = [
    [await sign({ aud: 'api', exp: T0 / 1000 - 60 }), 'token_expired', 'exp'],
    [await sign({ aud: 'api', nbf: T0 / 1000 + 120 }), 'token_invalid', 'nbf check_failed'],
    [await sign({ aud: 'web' }), 'token_invalid', 'aud check_failed'],
    [await sign({ aud: 'api' }, { key: new TextEncoder().encode('z'.repeat(32)) }), 'token_invalid', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    [await sign({ aud: 'api' }, { alg: 'HS512', key: new TextEncoder().encode(SECRET.repeat(2)) }), 'token_invalid', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['a.b.c', 'token_invalid', 'ERR_JWS_INVALID'],
  ];
  for (const [token, reason, check] of cases) {
    assertRefused(await h.run(ctx(bearer(token))), 401, reason);
    const line = JSON.parse(h.lines.at(-1)!) as Record<string, unknown>;
    assert.equal(line.check, check, check);
    assert.equal(line.reason, reason, check);
  }
});
