import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardedInfo } from './headers.ts';

const info: ForwardedInfo = {
  requestId: 'rid', traceparent: 'tp', forwardedFor: '10.0.0.1', proto: 'http', forwardedHost: undefined, overrideHost: undefined,
  identityNames: new Set(['x-user-id', 'x-consumer-id']), removed: undefined, extra: undefined,
};
const req = (rawHeaders: string[]) => ({ rawHeaders, httpVersion: '1.1' }) as unknown as IncomingMessage;
const asMap = (flat: string[]) => {
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) m.set(flat[i]!, [...(m.get(flat[i]!) ?? []), flat[i + 1]!]);
  return m;
};

describe('upstream request headers', () => {
  it('drops hop-by-hop headers and those the client names in Connection', () => {
    const h = asMap(upstreamRequestHeaders(req(['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', '5', 'TE', 'trailers',
      'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Authorization', 'x', 'X-Secret', 's', 'Expect', '100-continue', 'Accept', '*/*']), info));
    for (const gone of ['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'x-secret', 'expect']) assert.equal(h.has(gone), false, gone);
    assert.deepEqual(h.get('accept'), ['*/*']);
  });

  it('replaces client copies of the headers the gateway sets, even when the client names them in Connection', () => {
    const h = asMap(upstreamRequestHeaders(req(['Host', 'a', 'Connection', 'x-forwarded-for, x-request-id, via', 'X-Forwarded-For', '1.2.3.4',
      'X-Request-ID', 'spoof', 'Via', 'evil', 'Forwarded', 'for=1.2.3.4', 'X-Real-IP', '1.2.3.4', 'traceparent', 'old']), info));
    assert.deepEqual(h.get('x-forwarded-for'), ['10.0.0.1']);
    assert.deepEqual(h.get('x-request-id'), ['rid']);
    assert.deepEqual(h.get('traceparent'), ['tp']);
    assert.deepEqual(h.get('via'), ['1.1 gatehouse']);
    assert.deepEqual(h.get('x-forwarded-proto'), ['http']);
    assert.deepEqual(h.get('x-forwarded-host'), ['a']);
    assert.equal(h.has('forwarded'), false);
    assert.equal(h.has('x-real-ip'), false);
  });

  it('keeps the client Host unless the route overrides it, and keeps repeated end-to-end headers', () => {
    assert.deepEqual(asMap(upstreamRequestHeaders(req(['Host', 'api.test', 'Cookie', 'a=1', 'Cookie', 'b=2']), info)).get('cookie'), ['a=1', 'b=2']);
    assert.deepEqual(asMap(upstreamRequestHeaders(req(['Host', 'api.test']), info)).get('host'), ['api.test']);
    assert.deepEqual(asMap(upstreamRequestHeaders(req(['Host', 'api.test']), { ...info, overrideHost: 'svc:7001' })).get('host'), ['svc:7001']);
  });
});

describe('client response headers', () => {
  it('removes hop-by-hop headers and the ones the upstream names in Connection, and sets X-Request-ID', () => {
    const h: Record<string, string | string[] | undefined> = {
      connection: 'Close, X-Internal', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'x-internal': '1',
      'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-request-id': 'upstream-made-this-up', 'x-empty': undefined,
    };
    assert.deepEqual(clientResponseHeaders(h, 'rid'), [
      'content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-request-id', 'rid',
    ]);
  });

  it('keeps every end-to-end header when Connection only says keep-alive', () => {
    assert.deepEqual(clientResponseHeaders({ connection: 'keep-alive', etag: '"1"', 'cache-control': 'no-cache' }, 'r'),
      ['etag', '"1"', 'cache-control', 'no-cache', 'x-request-id', 'r']);
  });
});
