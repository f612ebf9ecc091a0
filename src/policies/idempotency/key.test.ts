import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testExchange } from '../../../test/helpers/policy-harness.ts';
import { identityOf, sha256, storeKey, validKey } from './key.ts';

describe('validKey', () => {
  it('accepts 1 to 255 visible ASCII characters', () => {
    for (const key of ['a', 'order-42_x:y/z', '~!'.repeat(10), 'k'.repeat(255)]) assert.equal(validKey(key), true, key);
  });

  it('refuses empty, too long, spaces, control and non-ASCII characters, and repeated headers', () => {
    for (const key of ['', 'k'.repeat(256), 'a b', 'a\tb', 'caf\u00e9', 'a, b']) assert.equal(validKey(key), false, JSON.stringify(key));
    assert.equal(validKey(['a', 'b']), false);
    assert.equal(validKey(undefined), false);
  });
});

describe('identityOf', () => {
  it('is the consumer, else the subject, else a hash of Authorization, else the client IP', () => {
    const ex = testExchange({ clientIp: '10.0.0.1', headers: { authorization: 'Bearer secret' } });
    assert.equal(identityOf(ex), `a:${sha256('Bearer secret')}`);
    assert.doesNotMatch(identityOf(ex), /secret/);
    ex.identity = { subject: 'user-1' };
    assert.equal(identityOf(ex), 'c:user-1');
    ex.identity = { consumer: 'alice', subject: 'user-1' };
    assert.equal(identityOf(ex), 'c:alice');
    assert.equal(identityOf(testExchange({ clientIp: '10.0.0.1' })), 'ip:10.0.0.1');
  });
});

describe('storeKey', () => {
  it('differs by identity, key, method and route, and names none of them', () => {
    const base = () => testExchange({ method: 'POST', route: 'pay', clientIp: '10.0.0.1' });
    const key = storeKey(base(), 'k1');
    assert.match(key, /^idempotency:[A-Za-z0-9_-]{43}$/);
    assert.equal(storeKey(base(), 'k1'), key);
    assert.notEqual(storeKey(base(), 'k2'), key);
    assert.notEqual(storeKey(testExchange({ method: 'PATCH', route: 'pay', clientIp: '10.0.0.1' }), 'k1'), key);
    assert.notEqual(storeKey(testExchange({ method: 'POST', route: 'refund', clientIp: '10.0.0.1' }), 'k1'), key);
    assert.notEqual(storeKey(testExchange({ method: 'POST', route: 'pay', clientIp: '10.0.0.2' }), 'k1'), key);
  });
});
