/**
 * Requests the gateway makes itself (server/internal-responder.ts): no client socket, yet the same routing,
 * request policies, attempts, response phase and finish as a client's request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalRequest } from '../../src/server/internal-responder.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

const KEY = 'internal-test-key-0123456789';
let upstream: FakeUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream(echo('u'));
  const { createHash } = await import('node:crypto');
  gw = await startGateway({
    upstreams: { u: { targets: [{ url: upstream.url }] } },
    routes: [
      { name: 'open', match: { path: '/open' }, upstream: 'u', stripPrefix: true },
      {
        name: 'keyed', match: { path: '/keyed' }, upstream: 'u',
        policies: [{ type: 'api-key-auth', consumers: [{ id: 'batch', keys: [`sha256:${createHash('sha256').update(KEY).digest('hex')}`] }] }],
      },
    ],
  });
});
after(async () => {
  await gw.close();
  await upstream.close();
});

const gateway = () => gw.instance.gateway;

describe('requests the gateway makes itself', () => {
  it('are routed, forwarded with the route\'s rules and answered with the upstream\'s status, headers and body', async () => {
    const res = await internalRequest(gateway(), { method: 'post', url: '/open/items?x=1', headers: { host: 'api.test', 'content-type': 'text/plain' }, body: Buffer.from('hello') });
    assert.equal(res.status, 200);
    assert.equal(res.reason, undefined);
    assert.equal(res.truncated, false);
    const seen = JSON.parse(res.body.toString()) as { method: string; url: string; bodyBytes: number; headers: Record<string, string> };
    assert.deepEqual([seen.method, seen.url, seen.bodyBytes], ['POST', '/items?x=1', 5]);
    assert.equal(seen.headers['x-request-id'], res.ex.requestId);
    const headers = new Map<string, string>();
    for (let i = 0; i < res.headers.length; i += 2) headers.set(res.headers[i]!, res.headers[i + 1]!);
    assert.equal(headers.get('x-upstream'), 'u');
    assert.equal(headers.get('x-request-id'), res.ex.requestId);
    const line = await logLine(gw, res.ex.requestId);
    assert.deepEqual([line.route, line.status, line.target, line.bytesIn, line.bytesOut], ['open', 200, upstream.url, 5, res.body.length]);
  });

  it('go through the route\'s policies: refused without the key, admitted with it', async () => {
    const refused = await internalRequest(gateway(), { method: 'GET', url: '/keyed' });
    assert.deepEqual([refused.status, refused.reason], [401, 'api_key_missing']);
    assert.equal(JSON.parse(refused.body.toString()).error.reason, 'api_key_missing');
    const before = upstream.received.length;
    const admitted = await internalRequest(gateway(), { method: 'GET', url: '/keyed', headers: { 'x-api-key': KEY } });
    assert.equal(admitted.status, 200);
    assert.equal(upstream.received.length, before + 1, 'only the admitted one reached the upstream');
    assert.equal((await logLine(gw, admitted.ex.requestId)).consumer, 'batch');
  });

  it('get the gateway\'s own answers for an unknown route and an unsafe path', async () => {
    const missing = await internalRequest(gateway(), { method: 'GET', url: '/nowhere' });
    assert.deepEqual([missing.status, missing.reason], [404, 'route_not_found']);
    const unsafe = await internalRequest(gateway(), { method: 'GET', url: '/open/../admin' });
    assert.deepEqual([unsafe.status, unsafe.reason], [400, 'bad_path']);
    assert.equal((await logLine(gw, unsafe.ex.requestId)).reason, 'bad_path');
  });

  it('carry the trace of the request they are made for, with a span of their own', async () => {
    const parent = (await internalRequest(gateway(), { method: 'GET', url: '/open/a' })).ex;
    const child = await internalRequest(gateway(), { method: 'GET', url: '/open/b', parent });
    const sent = upstream.received.at(-1)!.headers.traceparent as string;
    assert.equal(child.ex.traceId, parent.traceId);
    assert.equal(sent.split('-')[1], parent.traceId);
    assert.notEqual(sent.split('-')[2], parent.traceparent.split('-')[2]);
  });
});
