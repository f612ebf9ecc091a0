/**
 * Every timeout of the data plane, end to end: its status and reason, its timing (never early: the lower
 * bound is asserted tightly, the upper loosely), and that the work was cancelled (the upstream saw its
 * request aborted). Also: connect refused, the client going away, and bodies that keep moving slowly are
 * never cut.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { closedPort, echo, startUpstream, until, type FakeUpstream, type Received } from '../helpers/fake-upstream.ts';
import { blackHole } from '../helpers/black-hole.ts';
import { assertGatewayError } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

/**
 * How late a timeout may fire and still pass. A timeout is never early (the lower bound is exact) and, on a
 * quiet machine, at most about 50 ms late. The suite shares small, busy machines, so the upper bound is
 * loose: it catches a timeout that fires far too late or not at all (the client gives up after 8 s).
 */
const SLACK_MS = 1000;

interface Outcome {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** False when the connection was cut before the response completed. */
  readonly complete: boolean;
  /** performance.now() when the response ended or was cut. */
  readonly endedAt: number;
}

interface Sent {
  readonly req: http.ClientRequest;
  readonly outcome: Promise<Outcome>;
}

/**
 * Starts a request on a fresh connection; `outcome` settles when the response ends or is cut. With `body:
 * 'manual'` the caller writes the request body through `req`.
 */
function send(base: string, path: string, headers: Record<string, string> = {}, body: 'none' | 'manual' = 'none', timeoutMs = 8000): Sent {
  const url = new URL(base);
  const req = http.request({
    host: url.hostname, port: url.port, path, method: body === 'none' ? 'GET' : 'POST', headers, agent: false,
  });
  const outcome = new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no outcome for ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('error', () => { /* a cut response: reported through `complete` */ });
      res.on('close', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, complete: res.complete, endedAt: performance.now() });
      });
    });
  });
  if (body === 'none') req.end();
  return { req, outcome };
}

/** How long an access log line may take to appear (helpers/start-gateway.ts's `logLine`). */
const LOG_WAIT_MS = 3000;

function assertWithin(elapsed: number, min: number, what: string): void {
  assert.ok(elapsed >= min, `${what} after ${elapsed.toFixed(1)} ms: earlier than its ${min} ms`);
  assert.ok(elapsed < min + SLACK_MS, `${what} after ${elapsed.toFixed(1)} ms: more than ${SLACK_MS} ms late`);
}

function receivedAt(upstream: FakeUpstream, url: string): Received | undefined {
  return upstream.received.find((r) => r.url === url);
}

describe('upstream timeouts', () => {
  // Requests to this upstream hang until the test answers them (or the gateway aborts them).
  const held: http.ServerResponse[] = [];
  let hang: FakeUpstream;
  let gateway: TestGateway;
  let refusedPort: number;
  let hole: { port: number; close(): void };
  const timeouts = { connect: '300ms', response: '5s', bodyIdle: '60s' };

  before(async () => {
    hang = await startUpstream((req, res) => {
      req.resume();
      held.push(res);
    });
    refusedPort = await closedPort();
    hole = await blackHole();
    gateway = await startGateway({
      upstreams: {
        response: { targets: [{ url: hang.url }], timeouts: { response: '300ms' } },
        // Well past the route timeout plus SLACK_MS: a route timeout that fired with the response timeout fails.
        long: { targets: [{ url: hang.url }], timeouts: { response: '5s' } },
        refused: { targets: [{ url: `http://127.0.0.1:${refusedPort}` }], timeouts: { connect: '1s' } },
        hole: { targets: [{ url: `http://127.0.0.1:${hole.port}` }], timeouts },
        single: { targets: [{ url: hang.url }], maxConnections: 1, timeouts },
      },
      routes: [
        { name: 'response', match: { path: '/response' }, upstream: 'response' },
        { name: 'route', match: { path: '/route' }, upstream: 'long', timeout: '200ms' },
        { name: 'refused', match: { path: '/refused' }, upstream: 'refused' },
        { name: 'hole', match: { path: '/hole' }, upstream: 'hole' },
        { name: 'single', match: { path: '/single' }, upstream: 'single' },
      ],
    });
  });

  after(async () => {
    for (const res of held) res.destroy();
    await gateway?.close();
    await hang?.close();
    hole?.close();
  });

  it('answers 504 upstream_response_timeout when no response head comes within timeouts.response, and aborts the upstream request', async () => {
    const started = performance.now();
    const outcome = await send(gateway.url, '/response/1', { 'x-request-id': 'resp-timeout-1' }).outcome;
    assertGatewayError(outcome, 504, 'upstream_response_timeout');
    assertWithin(outcome.endedAt - started, 300, 'upstream_response_timeout');
    await until(() => receivedAt(hang, '/response/1')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'resp-timeout-1', LOG_WAIT_MS);
    assert.equal(line.status, 504);
    assert.equal(line.reason, 'upstream_response_timeout');
    assert.ok((line.durationMs as number) >= 300, `logged ${String(line.durationMs)} ms`);
  });

  it('answers 504 route_timeout when the route timeout is shorter than the response timeout', async () => {
    const started = performance.now();
    const outcome = await send(gateway.url, '/route/1', { 'x-request-id': 'route-timeout-1' }).outcome;
    assertGatewayError(outcome, 504, 'route_timeout');
    assertWithin(outcome.endedAt - started, 200, 'route_timeout');
    await until(() => receivedAt(hang, '/route/1')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'route-timeout-1', LOG_WAIT_MS);
    assert.equal(line.reason, 'route_timeout');
    // The route timeout counts from arrival, which is what durationMs measures.
    assert.ok((line.durationMs as number) >= 200, `logged ${String(line.durationMs)} ms`);
  });

  it('answers 502 upstream_connect_failure at once when the target refuses the connection', async () => {
    const started = performance.now();
    const outcome = await send(gateway.url, '/refused', { 'x-request-id': 'refused-1' }).outcome;
    assertGatewayError(outcome, 502, 'upstream_connect_failure');
    assert.ok(outcome.endedAt - started < 1000, 'a refused connect is not waited out');
    const line = await logLine(gateway, 'refused-1', LOG_WAIT_MS);
    assert.equal(line.reason, 'upstream_connect_failure');
    assert.equal(line.status, 502);
  });

  it('answers 504 upstream_connect_timeout when the TCP connect hangs past timeouts.connect', async () => {
    const started = performance.now();
    const outcome = await send(gateway.url, '/hole', { 'x-request-id': 'connect-timeout-1' }).outcome;
    assertGatewayError(outcome, 504, 'upstream_connect_timeout');
    assertWithin(outcome.endedAt - started, 300, 'upstream_connect_timeout');
    const line = await logLine(gateway, 'connect-timeout-1', LOG_WAIT_MS);
    assert.equal(line.reason, 'upstream_connect_timeout');
  });

  it('answers 504 upstream_connect_timeout while every allowed connection stays busy, and never sends the request later', async () => {
    // maxConnections: 1 and one request holding it: the next waits for a connection, which is the connect phase.
    const holder = send(gateway.url, '/single/holder');
    await until(() => receivedAt(hang, '/single/holder') !== undefined, 2000, 'the holder to reach the upstream');
    const started = performance.now();
    const outcome = await send(gateway.url, '/single/queued', { 'x-request-id': 'queued-1' }).outcome;
    assertGatewayError(outcome, 504, 'upstream_connect_timeout');
    assertWithin(outcome.endedAt - started, 300, 'upstream_connect_timeout');
    // Freeing the connection must not let the abandoned request through to the upstream.
    held.find((res) => res.req.url === '/single/holder')!.end('done');
    assert.equal((await holder.outcome).status, 200);
    send(gateway.url, '/single/next').outcome.catch(() => { /* held until the end */ });
    await until(() => receivedAt(hang, '/single/next') !== undefined, 2000, 'the pool to be usable again');
    assert.equal(receivedAt(hang, '/single/queued'), undefined, 'the timed-out request reached the upstream');
  });
});

describe('body timeouts and the client going away', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  /** performance.now() of each upstream's last body write, by URL. */
  const wroteAt = new Map<string, number>();

  before(async () => {
    const echoing = echo('echo');
    upstream = await startUpstream((req, res, received) => {
      const url = req.url ?? '';
      if (url.startsWith('/echo')) return echoing(req, res, received);
      req.resume();
      if (url.startsWith('/hang')) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      wroteAt.set(url, performance.now());
      if (url.startsWith('/silent')) return;
      // /trickle: a chunk every 100 ms for 1.5 s, then the end.
      let sent = 1;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(`chunk${sent}`);
        wroteAt.set(url, performance.now());
        if (++sent === 15) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
    });
    gateway = await startGateway({
      upstreams: { up: { targets: [{ url: upstream.url }] } },
      routes: [
        { name: 'idle', match: { path: '/' }, upstream: 'up', idleTimeout: '400ms' },
        { name: 'short', match: { path: '/silent' }, upstream: 'up', idleTimeout: '300ms' },
        { name: 'upload', match: { path: '/echo' }, upstream: 'up', idleTimeout: '300ms', timeout: '200ms' },
      ],
    });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('cuts the client connection when the upstream body goes silent past the idle timeout, logging upstream_body_timeout', async () => {
    const outcome = await send(gateway.url, '/silent/1', { 'x-request-id': 'body-idle-1' }).outcome;
    assert.equal(outcome.status, 200);
    assert.equal(outcome.body, 'partial');
    assert.equal(outcome.complete, false, 'the client must see the response cut short');
    assertWithin(outcome.endedAt - wroteAt.get('/silent/1')!, 300, 'the idle cut');
    await until(() => receivedAt(upstream, '/silent/1')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'body-idle-1', LOG_WAIT_MS);
    assert.equal(line.reason, 'upstream_body_timeout');
    assert.equal(line.status, 504, 'docs/reasons.md: logged with 504 when headers were already sent');
  });

  it('does not cut a response body that keeps moving, however long it takes', async () => {
    const started = performance.now();
    const outcome = await send(gateway.url, '/trickle/1', { 'x-request-id': 'trickle-1' }).outcome;
    assert.equal(outcome.complete, true);
    assert.equal(outcome.body, `partial${Array.from({ length: 14 }, (_, i) => `chunk${i + 1}`).join('')}`);
    assert.ok(outcome.endedAt - started >= 1400, 'the body took longer than the idle timeout several times over');
    const line = await logLine(gateway, 'trickle-1', LOG_WAIT_MS);
    assert.equal(line.status, 200);
    assert.equal(line.reason, undefined);
    assert.equal(receivedAt(upstream, '/trickle/1')?.aborted, false);
  });

  it('aborts the upstream request and logs 499 client_aborted when the client goes away before the response', async () => {
    const { req, outcome } = send(gateway.url, '/hang/1', { 'x-request-id': 'gone-1' });
    outcome.catch(() => {});
    await until(() => receivedAt(upstream, '/hang/1') !== undefined, 2000, 'the request to reach the upstream');
    req.destroy();
    await until(() => receivedAt(upstream, '/hang/1')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'gone-1', LOG_WAIT_MS);
    assert.equal(line.status, 499);
    assert.equal(line.reason, 'client_aborted');
  });

  it('aborts the upstream request and logs 499 client_aborted when the client goes away during the response body', async () => {
    const { req, outcome } = send(gateway.url, '/trickle/gone', { 'x-request-id': 'gone-2' });
    outcome.catch(() => {});
    // The client has the response head: the gateway is streaming the body when the client goes.
    await once(req, 'response', { signal: AbortSignal.timeout(2000) });
    req.destroy();
    await until(() => receivedAt(upstream, '/trickle/gone')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'gone-2', LOG_WAIT_MS);
    assert.equal(line.status, 499);
    assert.equal(line.reason, 'client_aborted');
  });

  it('answers 408 client_body_timeout when the request body goes silent past the idle timeout, and aborts the upstream request', async () => {
    const { req, outcome } = send(gateway.url, '/echo/slow', { 'x-request-id': 'slow-body-1', 'content-length': '100' }, 'manual');
    req.flushHeaders();
    req.write('x'.repeat(10));
    const wrote = performance.now();
    const result = await outcome;
    assertGatewayError(result, 408, 'client_body_timeout');
    assertWithin(result.endedAt - wrote, 300, 'client_body_timeout');
    await until(() => receivedAt(upstream, '/echo/slow')?.aborted === true, 2000, 'the upstream to see its request aborted');
    const line = await logLine(gateway, 'slow-body-1', LOG_WAIT_MS);
    assert.equal(line.reason, 'client_body_timeout');
    assert.equal(line.bytesIn, 10);
    req.destroy();
  });

  it('does not cut an upload that keeps moving, even past the route timeout', async () => {
    // idleTimeout 300 ms and route timeout 200 ms: the body moves every 100 ms for about 800 ms.
    const { req, outcome } = send(gateway.url, '/echo/moving', { 'x-request-id': 'moving-1', 'transfer-encoding': 'chunked' }, 'manual');
    req.flushHeaders();
    for (let i = 0; i < 8; i++) {
      req.write('y'.repeat(1000));
      await new Promise((r) => setTimeout(r, 100));
    }
    req.end();
    const result = await outcome;
    assert.equal(result.status, 200, result.body);
    assert.equal((JSON.parse(result.body) as { bodyBytes: number }).bodyBytes, 8000);
    const line = await logLine(gateway, 'moving-1', LOG_WAIT_MS);
    assert.equal(line.bytesIn, 8000);
    assert.equal(line.reason, undefined);
  });
});
