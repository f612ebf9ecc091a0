import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { Exchange, type BodyRead } from './exchange.ts';

describe('Exchange query parameters', () => {
  it('returns undefined for any parameter when there is no query string', () => {
    assert.equal(testExchange({ query: '' }).queryParam('a'), undefined);
  });

  it('decodes "+" and "%20" as spaces and other percent-escapes', () => {
    const ctx = testExchange({ query: '?a=hello+world&b=hello%20world&c=%C3%A9t%C3%A9&d=1%2B1' });
    assert.equal(ctx.queryParam('a'), 'hello world');
    assert.equal(ctx.queryParam('b'), 'hello world');
    assert.equal(ctx.queryParam('c'), 'été');
    assert.equal(ctx.queryParam('d'), '1+1');
  });

  it('decodes parameter names too and returns the first of repeated parameters', () => {
    const ctx = testExchange({ query: '?api%5Fkey=one&api_key=two&my+name=x' });
    assert.equal(ctx.queryParam('api_key'), 'one');
    assert.equal(ctx.queryParam('my name'), 'x');
  });

  it('returns undefined for an absent parameter and "" for one without a value', () => {
    const ctx = testExchange({ query: '?a=1&flag&empty=' });
    assert.equal(ctx.queryParam('missing'), undefined);
    assert.equal(ctx.queryParam('flag'), '');
    assert.equal(ctx.queryParam('empty'), '');
  });
});

describe('Exchange removing query parameters', () => {
  const cases: Array<[test: string, query: string, remove: string[], left: string]> = [
    ['removes every occurrence of a parameter and keeps the other pairs exactly as received',
      '?key=a&x=a+b%2Fc&key=b&y=%7e&z', ['key'], '?x=a+b%2Fc&y=%7e&z'],
    ['matches the name to remove after decoding it, whatever its spelling',
      '?api%5Fkey=1&api_key=2&my+key=3&my%20key=4&keep=5', ['api_key', 'my key'], '?keep=5'],
    ['removes a parameter given without a value', '?debug&a=1', ['debug'], '?a=1'],
    ['empties the query to "" when the last parameter is removed', '?key=a&key=b', ['key'], ''],
    ['leaves the query unchanged when the parameter is absent', '?a=1&b=%zz', ['c'], '?a=1&b=%zz'],
    ['does nothing without a query', '', ['a'], ''],
    ['keeps a pair whose name is malformed percent-encoding instead of throwing', '?%zz=1&key=2', ['key'], '?%zz=1'],
  ];
  for (const [test, query, remove, left] of cases) {
    it(test, () => {
      const ctx = testExchange({ query });
      for (const name of remove) ctx.removeQueryParam(name);
      assert.equal(ctx.query, left);
    });
  }
});

describe('Exchange body facts', () => {
  const cases: Array<[test: string, headers: IncomingHttpHeaders, contentLength: number | undefined, hasBody: boolean]> = [
    ['has no body and no length when neither Content-Length nor Transfer-Encoding is sent', {}, undefined, false],
    ['has no body when Content-Length is 0', { 'content-length': '0' }, 0, false],
    ['has a body of the declared length when Content-Length is 5', { 'content-length': '5' }, 5, true],
    ['has a body of unknown length when the body is chunked', { 'transfer-encoding': 'chunked' }, undefined, true],
  ];
  for (const [test, headers, contentLength, hasBody] of cases) {
    it(test, () => {
      const ctx = testExchange({ headers });
      assert.equal(ctx.contentLength, contentLength);
      assert.equal(ctx.hasBody, hasBody);
    });
  }

  it('copies the request facts it was built with and starts without identity', () => {
    const ctx = new Exchange({
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

describe('Exchange levers', () => {
  it('starts with no body limit', () => {
    assert.equal(testExchange().bodyLimit, Infinity);
  });

  it('keeps the smallest body limit whatever order the limits come in', () => {
    const ctx = testExchange();
    ctx.limitBody(1000);
    ctx.limitBody(10);
    ctx.limitBody(500);
    assert.equal(ctx.bodyLimit, 10);
  });

  it('collects removed request headers without duplicates', () => {
    const ctx = testExchange();
    assert.equal(ctx.removedHeaders, undefined);
    ctx.removeRequestHeader('authorization');
    ctx.removeRequestHeader('x-api-key');
    ctx.removeRequestHeader('authorization');
    assert.deepEqual([...ctx.removedHeaders!], ['authorization', 'x-api-key']);
  });

  it('sets a request header: one value, replacing what was set or appended before, and the client\'s copies', () => {
    const ctx = testExchange();
    assert.equal(ctx.addedHeaders, undefined);
    ctx.appendRequestHeader('x-a', '1');
    ctx.setRequestHeader('x-a', '2');
    ctx.setRequestHeader('x-b', '3');
    ctx.setRequestHeader('x-a', '4');
    assert.deepEqual(ctx.addedHeaders, ['x-b', '3', 'x-a', '4']);
    assert.deepEqual([...ctx.removedHeaders!], ['x-a', 'x-b'], 'the client\'s copies are not forwarded');
  });

  it('appends request header values after the client\'s copies, which stay', () => {
    const ctx = testExchange();
    ctx.appendRequestHeader('x-a', '1');
    ctx.appendRequestHeader('x-a', '2');
    assert.deepEqual(ctx.addedHeaders, ['x-a', '1', 'x-a', '2']);
    assert.equal(ctx.removedHeaders, undefined);
  });

  it('removes what an earlier policy set or appended along with the client\'s copies', () => {
    const ctx = testExchange();
    ctx.setRequestHeader('x-a', '1');
    ctx.appendRequestHeader('x-b', '2');
    ctx.appendRequestHeader('x-a', '3');
    ctx.removeRequestHeader('x-a');
    assert.deepEqual(ctx.addedHeaders, ['x-b', '2']);
    assert.deepEqual([...ctx.removedHeaders!], ['x-a']);
  });
});

describe('Exchange reading the body ahead (readBody)', () => {
  const source = (answer: BodyRead) => {
    const calls: number[] = [];
    return { calls, readWhole: (max: number) => { calls.push(max); return Promise.resolve(answer); } };
  };

  it('gives an empty body for a request without one, reading nothing', async () => {
    const ex = testExchange({ method: 'POST' });
    const src = source(Buffer.from('never'));
    ex.bodySource = src;
    assert.equal((await ex.readBody(10) as Buffer).length, 0);
    assert.deepEqual(src.calls, []);
  });

  it('refuses a declared length over the bound without reading a byte', async () => {
    const ex = testExchange({ method: 'POST', headers: { 'content-length': '11' } });
    const src = source(Buffer.from('x'));
    ex.bodySource = src;
    assert.equal(await ex.readBody(10), 'too_large');
    assert.deepEqual(src.calls, []);
  });

  it('reads once from the source and keeps the bytes for the attempts', async () => {
    const ex = testExchange({ method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    const src = source(Buffer.from('hello'));
    ex.bodySource = src;
    assert.equal((await ex.readBody(10)).toString(), 'hello');
    assert.equal(ex.bufferedBody?.toString(), 'hello');
    assert.equal((await ex.readBody(10)).toString(), 'hello');
    assert.equal(await ex.readBody(4), 'too_large');
    assert.deepEqual(src.calls, [10]);
  });

  it('passes a refusal on without keeping anything, and says aborted with no source to read (an upgrade)', async () => {
    const ex = testExchange({ method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    ex.bodySource = source('timeout');
    assert.equal(await ex.readBody(10), 'timeout');
    assert.equal(ex.bufferedBody, undefined);
    assert.equal(await testExchange({ method: 'POST', headers: { 'content-length': '3' } }).readBody(10), 'aborted');
  });
});

describe('Exchange finish callbacks (atFinish)', () => {
  it('starts with none, and collects them in order', () => {
    const ex = testExchange();
    assert.equal(ex.finishers, undefined);
    const a = () => {};
    const b = () => {};
    ex.atFinish(a);
    ex.atFinish(b);
    assert.deepEqual(ex.finishers, [a, b]);
  });
});
