import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { REDACTED, redactConfig, SECRET_KEYS } from './redact.ts';

/** A parsed JSON body: its shape is what the assertions check. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Keys that look secret by name but hold none, each checked by hand: paths, switches, public material. */
const REVIEWED_NOT_SECRET = new Set([
  'key', // listen.tls key: the path of the PEM file, not the key
  'rejectUnauthorized', 'keyPrefix', 'credentials', 'tokenFrom', 'forwardAuthorization', 'forwardKey', 'publicKey',
  'jwk', // public by its schema; its private members are redacted anyway
  'jwksUrl', 'jwksCacheAge', 'jwksRefetchInterval', 'jwksTimeout',
]);
const LOOKS_SECRET = /secret|pass|token|key|cred|jwk|auth/i;

function propertyNames(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) propertyNames(item, into);
  else if (schema !== null && typeof schema === 'object') {
    const { properties } = schema as { properties?: Record<string, unknown> };
    if (properties) for (const name of Object.keys(properties)) into.add(name);
    for (const value of Object.values(schema)) propertyNames(value, into);
  }
  return into;
}

describe('redactConfig', () => {
  it('knows every secret-looking key of the config schema (a new one must be classified here)', () => {
    const schema = JSON.parse(readFileSync(new URL('../../gatehouse.schema.json', import.meta.url), 'utf8')) as unknown;
    const names = [...propertyNames(schema)].filter((n) => LOOKS_SECRET.test(n));
    assert.ok(names.includes('token') && names.includes('secret') && names.includes('keys'), 'the walk sees the schema');
    for (const name of names) assert.ok(SECRET_KEYS.has(name) || REVIEWED_NOT_SECRET.has(name), `"${name}": add it to SECRET_KEYS (redact.ts) or to REVIEWED_NOT_SECRET`);
  });

  it('hides secret keys, URL passwords, private JWK members and credential header values', () => {
    const input = Object.freeze({
      admin: { token: 'tok' },
      redis: { url: 'rediss://default:p%40ss@cache.internal:6380/2' },
      upstreams: { a: { targets: [{ url: 'http://svc:7001/base' }, { url: 'http://only-user@svc:7002' }] } },
      policies: [
        { type: 'jwt-auth', issuers: [{ secret: 's3cret', jwk: { kty: 'oct', k: 'c2VjcmV0', kid: 'one' } }] },
        { type: 'api-key-auth', consumers: [{ id: 'alice', keys: ['sha256:abc'] }] },
        { type: 'header-transform', request: { set: { Authorization: 'Bearer x', 'x-team': 'blue' }, append: { cookie: 'a=b' } } },
      ],
    });
    const out = redactConfig(input) as Json;
    assert.equal(out.admin.token, REDACTED);
    assert.equal(out.redis.url, `rediss://default:${REDACTED}@cache.internal:6380/2`);
    assert.equal(out.upstreams.a.targets[0].url, 'http://svc:7001/base', 'a URL without credentials is left as written');
    assert.equal(out.upstreams.a.targets[1].url, `http://${REDACTED}@svc:7002/`);
    assert.equal(out.policies[0].issuers[0].secret, REDACTED);
    assert.deepEqual(out.policies[0].issuers[0].jwk, { kty: 'oct', k: REDACTED, kid: 'one' });
    assert.equal(out.policies[1].consumers[0].keys, REDACTED);
    assert.equal(out.policies[1].consumers[0].id, 'alice');
    assert.deepEqual(out.policies[2].request, { set: { Authorization: REDACTED, 'x-team': 'blue' }, append: { cookie: REDACTED } });
    assert.equal(input.admin.token, 'tok', 'the input is copied, never changed');
  });
});
