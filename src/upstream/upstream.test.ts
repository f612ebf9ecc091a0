import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { upstreamSchema } from './upstream-schema.ts';
import { hashKeyOf } from './upstream.ts';

const req = (headers: IncomingHttpHeaders) => headers;
const upstream = (hashOn: string) => upstreamSchema.safeParse({ balancer: 'consistent-hash', hashOn, targets: [{ url: 'http://127.0.0.1:1' }] });
// Through the schema, as build.ts gets it: the spec is parsed there and nowhere else.
const hashKey = (hashOn: string) => hashKeyOf(upstream(hashOn).data!.hashOn)!;

describe('hash keys (hashOn)', () => {
  it('has none without hashOn', () => {
    assert.equal(hashKeyOf(undefined), undefined);
  });

  it('parses each kind of spec, storing header names lower-case and cookie names as written', () => {
    assert.deepEqual(upstream('header:X-Cart-Id').data?.hashOn, { from: 'header', name: 'x-cart-id' });
    assert.deepEqual(upstream('cookie:Cart').data?.hashOn, { from: 'cookie', name: 'Cart' });
    assert.deepEqual(upstream('ip').data?.hashOn, { from: 'ip' });
    assert.deepEqual(upstream('path').data?.hashOn, { from: 'path' });
  });

  it('refuses a spec that is not header:NAME, cookie:NAME, ip or path, at the hashOn key', () => {
    for (const spec of ['', 'IP', 'query:x', 'header', 'header:', 'header:a b', 'header:a:b', 'headerx-a', 'cookie:', 'cookie:a;b', 'cookie:a=b', 'cookie:a b', 'ip:x']) {
      const issues = upstream(spec).error?.issues.map((i) => [i.path, i.message]);
      assert.deepEqual(issues, [[['hashOn'], 'must be header:NAME, cookie:NAME, ip or path']], JSON.stringify(spec));
    }
  });

  it('reads a header by name in any letter case, the first of repeated values', () => {
    const key = hashKey('header:X-Cart-Id');
    assert.equal(key(req({ 'x-cart-id': 'c-17' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ 'x-cart-id': ['a', 'b'] }), '/p', '10.0.0.1'), 'a');
    assert.equal(key(req({}), '/p', '10.0.0.1'), undefined);
  });

  it('reads one cookie exactly (quotes removed, not a cookie whose name merely contains it)', () => {
    const key = hashKey('cookie:cart');
    assert.equal(key(req({ cookie: 'a=1; cart=c-17; b=2' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ cookie: 'cart="c-17"' }), '/p', '10.0.0.1'), 'c-17');
    assert.equal(key(req({ cookie: 'mycart=1; carts=2' }), '/p', '10.0.0.1'), undefined);
    assert.equal(key(req({}), '/p', '10.0.0.1'), undefined);
  });

  it('uses the client IP or the path', () => {
    assert.equal(hashKey('ip')(req({}), '/p', '10.0.0.1'), '10.0.0.1');
    assert.equal(hashKey('path')(req({}), '/p', '10.0.0.1'), '/p');
  });
});
