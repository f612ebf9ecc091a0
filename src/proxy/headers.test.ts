import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identitySchema } from '../config/schema.ts';
import { ipSet } from '../net/ip-set.ts';
import { Exchange, type Identity } from '../pipeline/exchange.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { droppedRequestHeaders } from '../net/owned-headers.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { identityHeaders } from '../pipeline/identity-headers.ts';

/** The forwarding facts of one request, as the server stage resolved them. */
interface Facts {
  readonly overrideHost?: string | undefined;
  readonly forwardedFor?: string;
  readonly proto?: string;
  readonly forwardedHost?: string | undefined;
  readonly removed?: Set<string>;
  readonly added?: string[];
  readonly identity?: Identity;
  readonly edge?: EdgeSettings;
}

const edgeFor = (identity: Record<string, unknown>): EdgeSettings => {
  const headers = identityHeaders(identitySchema.parse(identity));
  return { identity: headers, trustedProxies: ipSet([]), dropped: droppedRequestHeaders(headers.names) };
};
/** The default identity headers: x-consumer-id, x-user-id, x-user-scopes. */
const defaultEdge = edgeFor({});

/** upstreamRequestHeaders for a request with these raw headers and facts. */
function upstream(r: RawRequest, facts: Facts = {}): string[] {
  const ex = new Exchange({
    requestId: 'rid', method: 'GET', path: '/', query: '', headers: {}, rawHeaders: r.rawHeaders, httpVersion: r.httpVersion, clientIp: '10.0.0.1',
    forwardedFor: facts.forwardedFor ?? '10.0.0.1', forwardedProto: facts.proto ?? 'http', forwardedHost: facts.forwardedHost,
  });
  ex.removedHeaders = facts.removed === undefined ? undefined : [...facts.removed];
  ex.addedHeaders = facts.added;
  ex.identity = facts.identity;
  return upstreamRequestHeaders(ex, facts.edge ?? defaultEdge, facts.overrideHost, 'tp');
}
interface RawRequest { readonly rawHeaders: string[]; readonly httpVersion: string }
const req = (rawHeaders: string[]): RawRequest => ({ rawHeaders, httpVersion: '1.1' });
const asMap = (flat: string[]) => {
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) m.set(flat[i]!, [...(m.get(flat[i]!) ?? []), flat[i + 1]!]);
  return m;
};

describe('upstream request headers', () => {
  it('drops hop-by-hop headers and those the client names in Connection', () => {
    const h = asMap(upstream(req(['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', '5', 'TE', 'trailers',
      'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Authorization', 'x', 'X-Secret', 's', 'Expect', '100-continue', 'Accept', '*/*'])));
    for (const gone of ['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'x-secret', 'expect']) assert.equal(h.has(gone), false, gone);
    assert.deepEqual(h.get('accept'), ['*/*']);
  });

  it('replaces client copies of the headers the gateway sets, even when the client names them in Connection', () => {
    const h = asMap(upstream(req(['Host', 'a', 'Connection', 'x-forwarded-for, x-request-id, via', 'X-Forwarded-For', '1.2.3.4',
      'X-Request-ID', 'spoof', 'Via', 'evil', 'Forwarded', 'for=1.2.3.4', 'X-Real-IP', '1.2.3.4', 'traceparent', 'old'])));
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
    assert.deepEqual(asMap(upstream(req(['Host', 'api.test', 'Cookie', 'a=1', 'Cookie', 'b=2']))).get('cookie'), ['a=1', 'b=2']);
    assert.deepEqual(asMap(upstream(req(['Host', 'api.test']))).get('host'), ['api.test']);
    assert.deepEqual(asMap(upstream(req(['Host', 'api.test']), { overrideHost: 'svc:7001' })).get('host'), ['svc:7001']);
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

describe('upstream request headers: identity, policies and forwarding facts', () => {
  it('drops client-sent identity headers in every spelling', () => {
    const flat = upstream(req(['Host', 'a', 'X-User-Id', 'spoof1', 'x_user_id', 'spoof2', 'X_User_Id', 'spoof3',
      'X-USER-ID', 'spoof4', 'x-consumer_id', 'spoof5', 'Accept', '*/*']));
    const h = asMap(flat);
    for (const gone of ['x-user-id', 'x_user_id', 'x-consumer-id', 'x-consumer_id']) assert.equal(h.has(gone), false, gone);
    assert.equal(flat.some((v) => v.startsWith('spoof')), false);
    assert.deepEqual(h.get('accept'), ['*/*']);
  });

  it('sets the verified identity headers from the policy\'s identity, after the client copies are gone', () => {
    const flat = upstream(req(['Host', 'a', 'X-User-Id', 'spoof', 'X_Consumer_Id', 'spoof']),
      { identity: { subject: 'user-42', consumer: 'app' } });
    const h = asMap(flat);
    assert.deepEqual(h.get('x-user-id'), ['user-42']);
    assert.deepEqual(h.get('x-consumer-id'), ['app']);
    assert.deepEqual(flat.slice(-4), ['x-consumer-id', 'app', 'x-user-id', 'user-42']);
  });

  it('drops every spelling of an identity header configured with underscores', () => {
    const edge = edgeFor({ stripHeaders: ['X_Legacy_User'], subjectHeader: 'x_sub' });
    const flat = upstream(req(['Host', 'a', 'X-Legacy-User', 'spoof1', 'X_Legacy_User', 'spoof2', 'x-legacy_user', 'spoof3',
      'X-Sub', 'spoof4', 'x_sub', 'spoof5', 'Accept', '*/*']), { edge });
    assert.equal(flat.some((v) => v.startsWith('spoof')), false, flat.join(' '));
    assert.deepEqual(asMap(flat).get('accept'), ['*/*']);
  });

  it('drops underscore spellings of the hop-by-hop and gateway-set headers', () => {
    const flat = upstream(req(['Host', 'a', 'X_Forwarded_For', 'spoof1', 'x_real_ip', 'spoof2', 'Proxy_Authorization', 'spoof3',
      'HTTP2_Settings', 'spoof4', 'X_Request_Id', 'spoof5', 'X_Api_Key', 'kept']));
    assert.equal(flat.some((v) => v.startsWith('spoof')), false, flat.join(' '));
    assert.deepEqual(asMap(flat).get('x_api_key'), ['kept']);
  });

  it('drops the headers a policy removed, every occurrence, and keeps the others', () => {
    const h = asMap(upstream(req(['Host', 'a', 'Authorization', 'Bearer t', 'X-Api-Key', 'k1', 'x-api-key', 'k2', 'Accept', '*/*']),
      { removed: new Set(['authorization', 'x-api-key']) }));
    assert.equal(h.has('authorization'), false);
    assert.equal(h.has('x-api-key'), false);
    assert.deepEqual(h.get('accept'), ['*/*']);
    assert.deepEqual(h.get('host'), ['a']);
  });

  it('forwards the headers policies set or appended after the client\'s, and before the gateway\'s own', () => {
    const flat = upstream(req(['Host', 'a', 'X-Env', 'client', 'Accept', '*/*', 'X-Tag', 'one']),
      { removed: new Set(['x-env']), added: ['x-env', 'staging', 'x-tag', 'two'], identity: { consumer: 'app' } });
    assert.deepEqual(flat.slice(0, 10), ['accept', '*/*', 'x-tag', 'one', 'x-env', 'staging', 'x-tag', 'two', 'host', 'a']);
    assert.deepEqual(flat.slice(-2), ['x-consumer-id', 'app'], 'the identity headers still come last');
  });

  it('never forwards HTTP/2 pseudo-headers and uses :authority as the Host', () => {
    const flat = upstream(req([':method', 'GET', ':path', '/x?y=1', ':scheme', 'https', ':authority', 'api.test:8443', 'accept', '*/*']));
    for (let i = 0; i < flat.length; i += 2) assert.notEqual(flat[i]![0], ':', flat[i]);
    const h = asMap(flat);
    assert.deepEqual(h.get('host'), ['api.test:8443']);
    assert.deepEqual(h.get('x-forwarded-host'), ['api.test:8443']);
    assert.deepEqual(h.get('accept'), ['*/*']);
  });

  it('lets a route override the Host taken from :authority', () => {
    const h = asMap(upstream(req([':authority', 'api.test', ':method', 'GET']), { overrideHost: 'svc:7001' }));
    assert.deepEqual(h.get('host'), ['svc:7001']);
    assert.deepEqual(h.get('x-forwarded-host'), ['api.test']);
  });

  it('sends exactly one Host even when the client sent two', () => {
    const h = asMap(upstream(req(['Host', 'first.test', 'Host', 'second.test'])));
    assert.deepEqual(h.get('host'), ['first.test']);
  });

  it('uses the resolved X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host', () => {
    const h = asMap(upstream(req(['Host', 'internal.test', 'X-Forwarded-Host', 'spoof.test', 'X-Forwarded-Proto', 'gopher']),
      { forwardedFor: '203.0.113.9, 10.0.0.1', proto: 'https', forwardedHost: 'public.example.com' }));
    assert.deepEqual(h.get('x-forwarded-for'), ['203.0.113.9, 10.0.0.1']);
    assert.deepEqual(h.get('x-forwarded-proto'), ['https']);
    assert.deepEqual(h.get('x-forwarded-host'), ['public.example.com']);
    assert.deepEqual(h.get('host'), ['internal.test']);
  });

  it('sends an empty Host and no X-Forwarded-Host when the client sent no host at all', () => {
    const h = asMap(upstream(req(['Accept', '*/*'])));
    assert.deepEqual(h.get('host'), ['']);
    assert.equal(h.has('x-forwarded-host'), false);
  });

  it('names the client HTTP version in Via', () => {
    const h2 = { rawHeaders: [':authority', 'a'], httpVersion: '2.0' } as RawRequest;
    assert.deepEqual(asMap(upstream(h2)).get('via'), ['2.0 gatehouse']);
  });
});
