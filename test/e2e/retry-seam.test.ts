/**
 * The retry seam (proxy/forward.ts mayRetry, RouteRuntime.retry), driven by a test RetryPolicy given to an
 * in-process Gateway (GatewayOptions.retryFor): a failed attempt is followed by another to the other target,
 * with a span ID of its own in traceparent, and the request body is sent again when it can be — never when a
 * byte has reached the client or the body was not kept. Retry policies themselves arrive with traffic control.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.ts';
import type { Reason } from '../../src/observability/reasons.ts';
import { Gateway } from '../../src/runtime/gateway.ts';
import type { RetryPolicy } from '../../src/runtime/route.ts';
import { createGatewayServer } from '../../src/server/http-server.ts';
import { closedPort, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { testConfig } from '../helpers/start-gateway.ts';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_PARENT = 'b7ad6b7169203331';

interface Asked {
  readonly reason: Reason;
  readonly attempts: number;
  /** The traceparent the first attempt forwarded. */
  readonly firstTraceparent: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  /** The response ended whole (false: cut after the head). */
  readonly complete: boolean;
}

function send(base: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST', agent: false, signal: AbortSignal.timeout(5000),
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_PARENT}-01`, ...(body === undefined ? {} : { 'content-type': 'text/plain' }) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('error', () => {});
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: text, complete: res.complete }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the retry seam', () => {
  /** Answers with the traceparent and the body it received. */
  let good: FakeUpstream;
  /** Reads the whole request body, then closes the connection without answering. */
  let resetter: FakeUpstream;
  /** Sends a head and part of the body, then closes the connection. */
  let breaker: FakeUpstream;
  let gateway: Gateway;
  let server: http.Server;
  let base = '';
  const asked: Asked[] = [];

  const retry: RetryPolicy = {
    keepBodyBytes: 1024,
    perTryTimeout: undefined,
    counted() {},
    retriesStatus: () => false,
    shouldRetry(ex, failed, attempts) {
      asked.push({ reason: failed as Reason, attempts, firstTraceparent: ex.traceparent });
      return attempts < 2;
    },
    backoff: () => 0,
    takeBudget: () => true,
  };

  before(async () => {
    good = await startUpstream((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { body += c; });
      req.on('end', () => res.end(JSON.stringify({ traceparent: req.headers.traceparent, body })));
    });
    resetter = await startUpstream((req) => {
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    breaker = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => setImmediate(() => req.socket.destroy()));
    });
    const refused = `http://127.0.0.1:${await closedPort()}`;
    const config = testConfig({
      upstreams: {
        refusedFirst: { targets: [{ url: refused }, { url: good.url }] },
        resetFirst: { targets: [{ url: resetter.url }, { url: good.url }] },
        brokenFirst: { targets: [{ url: breaker.url }, { url: good.url }] },
        // Upstreams of their own for the tests that send a second request first to the failing target: a
        // round-robin rotation goes on from where the previous request left it.
        refusedFirstAgain: { targets: [{ url: refused }, { url: good.url }] },
        resetFirstAgain: { targets: [{ url: resetter.url }, { url: good.url }] },
      },
      routes: [
        { name: 'refused-first', match: { path: '/refused-first' }, upstream: 'refusedFirst' },
        { name: 'reset-first', match: { path: '/reset-first' }, upstream: 'resetFirst' },
        { name: 'broken-first', match: { path: '/broken-first' }, upstream: 'brokenFirst' },
        { name: 'refused-first-again', match: { path: '/refused-first-again' }, upstream: 'refusedFirstAgain' },
        { name: 'reset-first-again', match: { path: '/reset-first-again' }, upstream: 'resetFirstAgain' },
      ],
    });
    gateway = new Gateway(config, createLogger('silent'), { retryFor: () => retry });
    server = createGatewayServer(gateway);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await gateway?.close();
    await Promise.all([good?.close(), resetter?.close(), breaker?.close()]);
  });

  const stateOf = (upstream: string, url: string) => gateway.targets.states().find((s) => s.upstream === upstream && s.url === url)!;
  const spanOf = (traceparent: string) => traceparent.split('-')[2];

  it('makes a second attempt to the other target after a connect failure, with a span ID of its own', async () => {
    asked.length = 0;
    const before = good.received.length;
    const r = await send(base, '/refused-first/x');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(asked.map((a) => [a.reason, a.attempts]), [['upstream_connect_failure', 1]]);
    const seen = (JSON.parse(r.body) as { traceparent: string }).traceparent;
    const [version, trace, span, flags] = seen.split('-');
    assert.deepEqual([version, trace, flags], ['00', CLIENT_TRACE, '01'], 'the same trace');
    assert.notEqual(span, spanOf(asked[0]!.firstTraceparent), 'not the first attempt\'s span ID');
    assert.notEqual(span, CLIENT_PARENT, 'not the client\'s span ID either');
    assert.match(span!, /^[0-9a-f]{16}$/);
    assert.equal(good.received.length - before, 1);
    assert.deepEqual([stateOf('refusedFirst', good.url).attempts, stateOf('refusedFirst', good.url).failures], [1, 0]);
    const refused = gateway.targets.states().find((s) => s.upstream === 'refusedFirst' && s.url !== good.url)!;
    assert.deepEqual([refused.attempts, refused.failures], [1, 1]);
  });

  it('sends a body the first attempt never read to the second target after a connect failure', async () => {
    asked.length = 0;
    const r = await send(base, '/refused-first-again/body', 'never read by the first');
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { body: string }).body, 'never read by the first');
    assert.equal(asked.length, 1);
  });

  it('replays a body within keepBodyBytes after the first target took it whole and reset the connection', async () => {
    asked.length = 0;
    const before = resetter.received.length;
    const body = 'x'.repeat(1000);
    const r = await send(base, '/reset-first/replay', body);
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { body: string }).body, body, 'the second target got the same bytes');
    assert.equal(resetter.received.length - before, 1);
    assert.deepEqual(asked.map((a) => [a.reason, a.attempts]), [['upstream_reset', 1]]);
  });

  it('makes no second attempt when the body was larger than keepBodyBytes', async () => {
    asked.length = 0;
    const before = good.received.length;
    const r = await send(base, '/reset-first-again/big', 'y'.repeat(2000));
    assert.equal(r.status, 502);
    assert.equal((JSON.parse(r.body) as { error: { reason: string } }).error.reason, 'upstream_reset');
    assert.deepEqual(asked, [], 'the policy is not even asked');
    assert.equal(good.received.length, before);
  });

  it('makes no second attempt once a byte has reached the client: the response is cut', async () => {
    asked.length = 0;
    const before = good.received.length;
    const r = await send(base, '/broken-first/x');
    assert.equal(r.status, 200);
    assert.equal(r.complete, false);
    assert.deepEqual(asked, []);
    await until(() => gateway.runtime.inFlight === 0, 2000, 'the request to finish');
    assert.equal(good.received.length, before);
  });
});
