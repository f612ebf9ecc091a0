import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policyContext } from '../../test/helpers/policy-harness.ts';
import { PolicyContext } from './context.ts';

describe('PolicyContext query parameters', () => {
  it('returns undefined for any parameter when there is no query string', () => {
    assert.equal(policyContext({ query: '' }).queryParam('a'), undefined);
  });

  it('decodes "+" and "%20" as spaces and other percent-escapes', () => {
    const ctx = policyContext({ query: '?a=hello+world&b=hello%20world&c=%C3%A9t%C3%A9&d=1%2B1' });
    assert.equal(ctx.queryParam('a'), 'hello world');
    assert.equal(ctx.queryParam('b'), 'hello world');
    assert.equal(ctx.queryParam('c'), 'été');
    assert.equal(ctx.queryParam('d'), '1+1');
  });

  it('decodes parameter names too and returns the first of repeated parameters', () => {
    const ctx = policyContext({ query: '?api%5Fkey=one&api_key=two&my+name=x' });
    assert.equal(ctx.queryParam('api_key'), 'one');
    assert.equal(ctx.queryParam('my name'), 'x');
  });

  it('returns undefined for an absent parameter and "" for one without a value', () => {
    const ctx = policyContext({ query: '?a=1&flag&empty=' });
    assert.equal(ctx.queryParam('missing'), undefined);
    assert.equal(ctx.queryParam('flag'), '');
    assert.equal(ctx.queryParam('empty'), '');
  });

  it('removes every occurrence of a parameter and keeps the other pairs exactly as received', () => {
    const ctx = policyContext({ query: '?key=a&x=a+b%2Fc&key=b&y=%7e&z' });
    ctx.removeQueryParam('key');
    assert.equal(ctx.query, '?x=a+b%2Fc&y=%7e&z');
  });

  it('matches the name to remove after decoding it, whatever its spelling', () => {
    const ctx = policyContext({ query: '?api%5Fkey=1&api_key=2&my+key=3&my%20key=4&keep=5' });
    ctx.removeQueryParam('api_key');
    ctx.removeQueryParam('my key');
    assert.equal(ctx.query, '?keep=5');
  });

  it('removes a parameter given without a value', () => {
    const ctx = policyContext({ query: '?debug&a=1' });
    ctx.removeQueryParam('debug');
    assert.equal(ctx.query, '?a=1');
  });

  it('empties the query to "" when the last parameter is removed', () => {
    const ctx = policyContext({ query: '?key=a&key=b' });
    ctx.removeQueryParam('key');
    assert.equal(ctx.query, '');
  });

  it('leaves the query unchanged when the parameter is absent, and does nothing without a query', () => {
    const ctx = policyContext({ query: '?a=1&b=%zz' });
    ctx.removeQueryParam('c');
    assert.equal(ctx.query, '?a=1&b=%zz');
    const none = policyContext({ query: '' });
    none.removeQueryParam('a');
    assert.equal(none.query, '');
  });

  it('keeps a pair whose name is malformed percent-encoding instead of throwing', () => {
    const ctx = policyContext({ query: '?%zz=1&key=2' });
    ctx.removeQueryParam('key');
    assert.equal(ctx.query, '?%zz=1');
  });
});

describe('PolicyContext body facts', () => {
  it('has no body and no length when neither Content-Length nor Transfer-Encoding is sent', () => {
    const ctx = policyContext();
    assert.equal(ctx.contentLength, undefined);
    assert.equal(ctx.hasBody, false);
  });

  it('has no body when Content-Length is 0', () => {
    const ctx = policyContext({ headers: { 'content-length': '0' } });
    assert.equal(ctx.contentLength, 0);
    assert.equal(ctx.hasBody, false);
  });

  it('has a body of the declared length when Content-Length is 5', () => {
    const ctx = policyContext({ headers: { 'content-length': '5' } });
    assert.equal(ctx.contentLength, 5);
    assert.equal(ctx.hasBody, true);
  });

  it('has a body of unknown length when the body is chunked', () => {
    const ctx = policyContext({ headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(ctx.contentLength, undefined);
    assert.equal(ctx.hasBody, true);
  });

  it('copies the request facts it was built with and starts without identity', () => {
    const ctx = new PolicyContext({
      requestId: 'r-9', route: 'orders', method: 'POST', path: '/orders', query: '?a=1', clientIp: '10.0.0.1',
      headers: { host: 'api.test' }, isUpgrade: true,
    });
    assert.equal(ctx.requestId, 'r-9');
    assert.equal(ctx.route, 'orders');
    assert.equal(ctx.method, 'POST');
    assert.equal(ctx.path, '/orders');
    assert.equal(ctx.query, '?a=1');
    assert.equal(ctx.clientIp, '10.0.0.1');
    assert.deepEqual(ctx.headers, { host: 'api.test' });
    assert.equal(ctx.isUpgrade, true);
    assert.equal(ctx.identity, undefined);
  });
});

describe('PolicyContext levers', () => {
  it('starts with no body limit', () => {
    assert.equal(policyContext().bodyLimit, Infinity);
  });

  it('keeps the smallest body limit whatever order the limits come in', () => {
    const ctx = policyContext();
    ctx.limitBody(1000);
    ctx.limitBody(10);
    ctx.limitBody(500);
    assert.equal(ctx.bodyLimit, 10);
  });

  it('collects removed request headers without duplicates', () => {
    const ctx = policyContext();
    assert.equal(ctx.removedHeaders, undefined);
    ctx.removeRequestHeader('authorization');
    ctx.removeRequestHeader('x-api-key');
    ctx.removeRequestHeader('authorization');
    assert.deepEqual([...ctx.removedHeaders!], ['authorization', 'x-api-key']);
  });

  it('adds response headers as a flat name, value list in call order, repeats included', () => {
    const ctx = policyContext();
    assert.equal(ctx.responseHeaders, undefined);
    ctx.addResponseHeader('vary', 'Origin');
    ctx.addResponseHeader('access-control-allow-origin', 'https://a.test');
    ctx.addResponseHeader('vary', 'Accept');
    assert.deepEqual(ctx.responseHeaders, ['vary', 'Origin', 'access-control-allow-origin', 'https://a.test', 'vary', 'Accept']);
  });
});
