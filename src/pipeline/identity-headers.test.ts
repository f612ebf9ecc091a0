import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identitySchema } from '../config/schema.ts';
import { headerValue, identityHeaders, isIdentityHeader } from './identity-headers.ts';

const defaults = identityHeaders(identitySchema.parse({}));
const withClaims = identityHeaders(identitySchema.parse({
  claimHeaders: { 'x-tenant-id': 'tenant', 'x-groups': 'groups', 'x-level': 'level', 'x-profile': 'profile', 'x-name': 'name', 'x-note': 'note' },
  stripHeaders: ['X-Legacy-User'],
}));

/** Every header line a value could produce must be one line of printable ASCII. */
const SAFE = /^[\t\x20-\x7e]*$/;

describe('identity header names', () => {
  it('includes the default consumer, subject and scopes headers', () => {
    assert.deepEqual([...defaults.names].sort(), ['x-consumer-id', 'x-user-id', 'x-user-scopes']);
  });

  it('includes claim headers and stripHeaders, lower-cased', () => {
    assert.equal(withClaims.names.has('x-tenant-id'), true);
    assert.equal(withClaims.names.has('x-legacy-user'), true);
  });

  it('stores names configured with underscores in dash spelling, and recognises every spelling of them', () => {
    const legacy = identityHeaders(identitySchema.parse({ stripHeaders: ['X_Legacy_User'], claimHeaders: { x_tenant_id: 'tenant' } }));
    assert.equal(legacy.names.has('x-legacy-user'), true);
    assert.equal(legacy.names.has('x-tenant-id'), true);
    assert.equal(legacy.names.has('x_legacy_user'), false);
    for (const spelling of ['x-legacy-user', 'x_legacy_user', 'x-legacy_user', 'x_tenant_id', 'x-tenant-id']) {
      assert.equal(isIdentityHeader(legacy.names, spelling), true, spelling);
    }
  });

  it('recognises the dash spelling and every underscore spelling of a name (lower-cased by the caller)', () => {
    const names = defaults.names;
    assert.equal(isIdentityHeader(names, 'x-user-id'), true);
    assert.equal(isIdentityHeader(names, 'x_user_id'), true);
    assert.equal(isIdentityHeader(names, 'X_USER_ID'.toLowerCase()), true);
    assert.equal(isIdentityHeader(names, 'X_User_Id'.toLowerCase()), true);
    assert.equal(isIdentityHeader(names, 'x-user_id'), true);
    assert.equal(isIdentityHeader(names, 'x_consumer-id'), true);
  });

  it('does not match other headers, lookalikes or names that differ only by more than underscores', () => {
    const names = defaults.names;
    for (const other of ['x-user', 'x-user-id2', 'xuserid', 'x__user_id', 'x-request-id', 'x_request_id', 'authorization']) {
      assert.equal(isIdentityHeader(names, other), false, other);
    }
  });
});

describe('identity header values', () => {
  it('sets the consumer header from the consumer', () => {
    assert.deepEqual(defaults.headersFor({ consumer: 'mobile-app' }), ['x-consumer-id', 'mobile-app']);
  });

  it('sets subject and space-joined scopes', () => {
    assert.deepEqual(defaults.headersFor({ subject: 'user-42', scopes: ['orders:read', 'orders:write'] }),
      ['x-user-id', 'user-42', 'x-user-scopes', 'orders:read orders:write']);
  });

  it('omits the scopes header for an empty scope list, and everything for an empty identity', () => {
    assert.deepEqual(defaults.headersFor({ subject: 'u', scopes: [] }), ['x-user-id', 'u']);
    assert.deepEqual(defaults.headersFor({}), []);
  });

  it('derives each identity\'s headers once, and each identity its own', () => {
    const one = Object.freeze({ subject: 'a', scopes: Object.freeze(['x']) });
    const two = Object.freeze({ subject: 'b' });
    const first = defaults.headersFor(one);
    assert.equal(defaults.headersFor(one), first, 'the same list for the same identity');
    assert.deepEqual(first, ['x-user-id', 'a', 'x-user-scopes', 'x']);
    assert.deepEqual(defaults.headersFor(two), ['x-user-id', 'b']);
  });

  it('omits empty values', () => {
    assert.deepEqual(defaults.headersFor({ consumer: '', subject: '' }), []);
  });

  it('uses the configured header names', () => {
    const custom = identityHeaders(identitySchema.parse({ consumerHeader: 'X-Client', subjectHeader: 'x-sub', scopesHeader: 'x-perms' }));
    assert.deepEqual(custom.headersFor({ consumer: 'c', subject: 's', scopes: ['a'] }), ['x-client', 'c', 'x-sub', 's', 'x-perms', 'a']);
  });

  it('maps claims: strings as is, arrays space-joined, numbers as text, objects as JSON', () => {
    const out = withClaims.headersFor({
      subject: 'u1',
      claims: { tenant: 'acme', groups: ['admin', 'dev'], level: 3, profile: { plan: 'pro', seats: 5 } },
    });
    assert.deepEqual(out, [
      'x-user-id', 'u1',
      'x-tenant-id', 'acme',
      'x-groups', 'admin dev',
      'x-level', '3',
      'x-profile', '{"plan":"pro","seats":5}',
    ]);
  });

  it('leaves out claims the token does not carry, or carries as null', () => {
    assert.deepEqual(withClaims.headersFor({ claims: { tenant: 'acme', groups: null } }), ['x-tenant-id', 'acme']);
    assert.deepEqual(withClaims.headersFor({ consumer: 'c' }), ['x-consumer-id', 'c']);
  });

  it('percent-encodes non-ASCII values', () => {
    assert.deepEqual(withClaims.headersFor({ claims: { name: 'Zoë' } }), ['x-name', 'Zo%C3%AB']);
    assert.deepEqual(defaults.headersFor({ subject: '用户' }), ['x-user-id', '%E7%94%A8%E6%88%B7']);
  });

  it('percent-encodes CR, LF and other control characters so a value can never inject a header', () => {
    const hostile = 'acme\r\nX-Admin: true';
    const out = withClaims.headersFor({ consumer: hostile, subject: 'a\nb', scopes: ['read\r\nx: 1'], claims: { note: 'nul\u0000del\u007f', groups: ['ok', 'x\r\ny: 2'], profile: { k: 'v\r\n' } } });
    for (let i = 1; i < out.length; i += 2) assert.match(out[i]!, SAFE, `${out[i - 1]}: ${JSON.stringify(out[i])}`);
    assert.deepEqual(out.slice(0, 2), ['x-consumer-id', 'acme%0D%0AX-Admin%3A%20true']);
    assert.equal(out[3], 'a%0Ab');
  });

  it('keeps printable ASCII, spaces and tabs as they are', () => {
    assert.equal(headerValue('a b\tc ~!@#$%^&*()'), 'a b\tc ~!@#$%^&*()');
  });

  it('turns booleans and numbers into text and null/undefined into nothing', () => {
    assert.equal(headerValue(true), 'true');
    assert.equal(headerValue(0), '0');
    assert.equal(headerValue(null), undefined);
    assert.equal(headerValue(undefined), undefined);
  });

  it('writes array members that are not strings as JSON', () => {
    assert.equal(headerValue(['a', 1, { b: 2 }]), 'a 1 {"b":2}');
  });
});
