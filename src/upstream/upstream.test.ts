import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { hashKeyOf } from './upstream.ts';

const req = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;

describe('hash keys (hashOn)', () => {
  it('has none without hashOn', () => {
    assert.equal(hashKeyOf(undefined), undefined);
  });

  it('reads a header by name in any letter case, the first of repeated values', () => {
    const key = hashKeyOf('header:X-Cart-Id')!;
    assert.equal(key(req({ 'x-cart-id': 'c-17' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ 'x-cart-id': ['a', 'b'] }), '/p', '10.0.0.1'), 'a');
    assert.equal(key(req({}), '/p', '10.0.0.1'), undefined);
  });

  it('reads one cookie exactly (quotes removed, not a cookie whose name merely contains it)', () => {
    const key = hashKeyOf('cookie:cart')!;
    assert.equal(key(req({ cookie: 'a=1; cart=c-17; b=2' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ cookie: 'cart="c-17"' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ cookie: 'mycart=1; carts=2' }), '/p', '10.0.0.1'), undefined);
    assert.equal(key(req({}), '/p', '10.0.0.1'), undefined);
  });

  it('uses the client IP or the path', () => {
    assert.equal(hashKeyOf('ip')!(req({}), '/p', '10.0.0.1'), '10.0.0.1');
    assert.equal(hashKeyOf('path')!(req({}), '/p', '10.0.0.1'), '/p');
  });
});
