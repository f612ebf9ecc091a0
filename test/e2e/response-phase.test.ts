/**
 * The client-side writer's response phase on real sockets: a body transform a response policy asks for is
 * applied to an upstream's streamed body and to a local reply's body, Content-Length goes, and bytesOut
 * counts what the client got; a content reply whose body is a stream is sent chunked. The transform
 * policy is a test double (no shipped policy transforms bodies yet; compression will).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { SharedResources } from '../../src/leases/shared-resources.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { contentReply } from '../../src/pipeline/local-reply.ts';
import { definePolicy } from '../../src/pipeline/policy.ts';
import { compileChain } from '../../src/pipeline/run.ts';
import type { RouteRuntime } from '../../src/runtime/route.ts';
import { HttpResponder } from '../../src/server/http-responder.ts';
import { startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

const upperCase = definePolicy({
  type: 'upper-case-body', priority: 10, kind: 'filter', schema: z.strictObject({}), doc: 'test double',
  create: () => ({
    onResponse(_ex, head) {
      head.transformBody(() => new Transform({ transform(chunk: Buffer, _enc, done) { done(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1')); } }));
    },
  }),
});

let upstream: FakeUpstream;
let gw: TestGateway;
let server: http.Server;
let url: string;
/** What the test server's responder does once the request is routed. */
let behaviour: (responder: HttpResponder) => void;

before(async () => {
  upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
    res.write('hello ');
    setTimeout(() => res.end('world'), 20);
  });
  gw = await startGateway({ upstreams: { u: { targets: [{ url: upstream.url }] } }, routes: [{ name: 'plain', match: { path: '/' }, upstream: 'u' }] });
  const gateway = gw.instance.gateway;
  const found = gateway.runtime.router.lookup('GET', '/', undefined, {});
  assert.equal(found.kind, 'found');
  const plain = (found as { match: { route: RouteRuntime } }).match.route;
  const chain = compileChain([{ definition: upperCase, policy: upperCase.create({}, { log: createLogger('silent'), shared: new SharedResources() }) }], createLogger('silent'));
  const route: RouteRuntime = { ...plain, name: 'transformed', policies: chain };
  // A server whose requests are handled by a responder on `route`, as the lifecycle would after routing.
  server = http.createServer((req, res) => {
    const responder = new HttpResponder(gateway, req, res, false);
    responder.ex.path = '/';
    responder.route = route;
    responder.ex.route = route.name;
    responder.ex.forwardPath = '/';
    behaviour(responder);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.close();
  await gw.close();
  await upstream.close();
});

async function get(): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const res = await fetch(url);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

describe('the response phase on real sockets', () => {
  it('runs an upstream\'s streamed body through the transform a response policy asked for, without its Content-Length', async () => {
    behaviour = (responder) => responder.forward();
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(res.body, 'HELLO WORLD');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const line = await logLine(gw, res.headers['x-request-id'] as string);
    assert.deepEqual([line.route, line.status, line.bytesOut], ['transformed', 200, 11]);
  });

  it('runs a local reply\'s body through it too, and sends a stream body chunked', async () => {
    behaviour = (responder) => responder.answer(contentReply('test', 202, Readable.from([Buffer.from('abc'), Buffer.from('def')]), { 'content-type': 'text/plain' }));
    const res = await get();
    assert.equal(res.status, 202);
    assert.equal(res.body, 'ABCDEF');
    assert.equal(res.headers['content-type'], 'text/plain');
    const line = await logLine(gw, res.headers['x-request-id'] as string);
    assert.deepEqual([line.status, line.source, line.reason, line.bytesOut, line.target], [202, 'test', undefined, 6, undefined]);
  });
});
