/**
 * Tracing (docs/tracing.md) end to end: a gateway with `tracing:` exports its spans to a real OTLP/HTTP
 * receiver on 127.0.0.1, and real upstreams record the traceparent each attempt forwarded. The spans' IDs
 * must line up with what the upstreams received and what the access log says; sampling must agree with the
 * flags forwarded; tracing off must export nothing and forward what the gateway always did.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { closedPort, echo, startUpstream, until, type FakeUpstream, type UpstreamHandler } from '../helpers/fake-upstream.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killIfRunning } from '../helpers/e2e-process.ts';
import { logLine, spawnGateway, startGateway, tempDir, type TestGateway } from '../helpers/start-gateway.ts';
import type { Tracing } from '../../src/tracing/tracing.ts';

// The batch processor's delay before it sends (the SDK reads it when the first pipeline is made): short, so
// spans arrive within the tests' bounded waits.
process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
// The exporter's own bound on one export, retries included (a collector that is down fails within it).
process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '1000';

const SERVER = 2;
const CLIENT = 3;
const INCOMING = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7';

let sent = 0;

function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ id: string; status: number }> {
  const id = `trace-${process.pid}-${++sent}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { 'x-request-id': id, ...headers }, signal: AbortSignal.timeout(10_000) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ id, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
  });
}

/** The spans of the request with this X-Request-ID: its server span and its client spans, waiting (bounded) for them. */
async function spansOf(receiver: OtlpReceiver, id: string, clients: number): Promise<{ server: ReceivedSpan; attempts: ReceivedSpan[] }> {
  let server: ReceivedSpan | undefined;
  const attemptsOf = () => receiver.spans.filter((s) => s.kind === CLIENT && s.parentSpanId === server?.spanId && s.traceId === server?.traceId);
  await until(() => {
    server ??= receiver.spans.find((s) => s.kind === SERVER && s.attributes['gatehouse.request_id'] === id);
    return server !== undefined && attemptsOf().length >= clients;
  }, 5000, `the spans of ${id}`);
  return { server: server!, attempts: attemptsOf().sort((a, b) => Number(a.startNs - b.startNs)) };
}

/** The traceparent the upstream received with the request `id`. */
function forwarded(upstream: FakeUpstream, id: string): string[] {
  return upstream.received.filter((r) => r.headers['x-request-id'] === id).map((r) => String(r.headers.traceparent));
}

/** Answers 503 to the first request it sees, 200 after. */
function failFirst(): UpstreamHandler {
  let seen = 0;
  return (req, res) => {
    req.resume();
    res.writeHead(seen++ === 0 ? 503 : 200, { 'content-type': 'text/plain' }).end('ok');
  };
}

function gatewayConfig(receiver: OtlpReceiver | string, sampleRatio: number, upstreams: Record<string, string[]>, enabled = true) {
  return {
    tracing: { enabled, endpoint: typeof receiver === 'string' ? receiver : receiver.url, sampleRatio, serviceName: 'edge-test' },
    upstreams: Object.fromEntries(Object.entries(upstreams).map(([name, urls]) => [name, { targets: urls.map((url) => ({ url })) }])),
    routes: [
      { name: 'users', match: { path: '/users/:id' }, upstream: 'plain' },
      ...('flaky' in upstreams ? [{ name: 'flaky', match: { path: '/flaky' }, upstream: 'flaky', retry: { backoff: { base: '1ms', max: '1ms' } } }] : []),
    ],
  };
}

describe('tracing at sampleRatio 1', () => {
  let receiver: OtlpReceiver;
  let plain: FakeUpstream;
  let flaky: FakeUpstream;
  let gateway: TestGateway;

  before(async () => {
    receiver = await startOtlpReceiver();
    plain = await startUpstream(echo('plain'));
    flaky = await startUpstream(failFirst());
    gateway = await startGateway(gatewayConfig(receiver, 1, { plain: [plain.url], flaky: [flaky.url] }));
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([plain?.close(), flaky?.close(), receiver?.close()]);
  });

  it('exports a server span and a client span whose IDs are the ones forwarded and logged', async () => {
    const { id, status } = await get(`${gateway.url}/users/42?token=secret`, { 'user-agent': 'trace-test/1' });
    assert.equal(status, 200);
    const { server, attempts } = await spansOf(receiver, id, 1);
    assert.equal(attempts.length, 1);
    const [client] = attempts as [ReceivedSpan];
    const [traceparent] = forwarded(plain, id);
    assert.equal(traceparent, `00-${server.traceId}-${client.spanId}-01`);
    assert.equal((await logLine(gateway, id)).traceId, server.traceId);
    assert.equal(server.parentSpanId, undefined);
    assert.notEqual(server.spanId, client.spanId);
    assert.ok(server.startNs <= client.startNs && client.endNs <= server.endNs);
    assert.equal(server.resource['service.name'], 'edge-test');
  });

  it('gives the server span the HTTP server attributes and the route, upstream, target and status', async () => {
    const { id } = await get(`${gateway.url}/users/7?token=secret`, { 'user-agent': 'trace-test/1' });
    const { server, attempts } = await spansOf(receiver, id, 1);
    assert.equal(server.name, 'GET /users/:id');
    const port = Number(new URL(gateway.url).port);
    assert.deepEqual(server.attributes, {
      'http.request.method': 'GET', 'url.path': '/users/7', 'url.scheme': 'http', 'http.route': '/users/:id',
      'http.response.status_code': 200, 'server.address': '127.0.0.1', 'server.port': port, 'client.address': '127.0.0.1',
      'network.protocol.version': '1.1', 'user_agent.original': 'trace-test/1', 'gatehouse.request_id': id, 'gatehouse.attempts': 1,
      'gatehouse.route': 'users', 'gatehouse.upstream': 'plain', 'gatehouse.target': plain.url,
    });
    assert.deepEqual(attempts[0]!.attributes, {
      'http.request.method': 'GET', 'url.full': `${plain.url}/users/7`, 'server.address': '127.0.0.1', 'server.port': plain.port,
      'http.response.status_code': 200, 'gatehouse.route': 'users', 'gatehouse.upstream': 'plain', 'gatehouse.target': plain.url,
    });
  });

  it('exports one client span per attempt of a retried request, each the parent forwarded on its attempt', async () => {
    const { id, status } = await get(`${gateway.url}/flaky`);
    assert.equal(status, 200);
    const { server, attempts } = await spansOf(receiver, id, 2);
    assert.equal(attempts.length, 2);
    assert.deepEqual(forwarded(flaky, id), attempts.map((a) => `00-${server.traceId}-${a.spanId}-01`));
    assert.equal(attempts[0]!.attributes['http.response.status_code'], 503);
    assert.equal(attempts[0]!.attributes['error.type'], '503');
    assert.equal(attempts[0]!.status, 2);
    assert.equal(attempts[1]!.attributes['http.response.status_code'], 200);
    assert.equal(attempts[1]!.attributes['http.request.resend_count'], 1);
    assert.equal(server.attributes['gatehouse.attempts'], 2);
    assert.equal(server.attributes['http.response.status_code'], 200);
  });

  it('exports a server span with the reason for a request the gateway answered itself', async () => {
    const { id, status } = await get(`${gateway.url}/nowhere`);
    assert.equal(status, 404);
    const { server, attempts } = await spansOf(receiver, id, 0);
    assert.equal(attempts.length, 0);
    assert.equal(server.name, 'GET');
    assert.equal(server.attributes['gatehouse.reason'], 'route_not_found');
    assert.equal(server.attributes['http.response.status_code'], 404);
  });

  it('makes a client-sent traceparent the server span\'s parent, keeping its flags', async () => {
    const { id } = await get(`${gateway.url}/users/1`, { traceparent: `${INCOMING}-01` });
    const { server, attempts } = await spansOf(receiver, id, 1);
    assert.equal(server.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(server.parentSpanId, '00f067aa0ba902b7');
    assert.equal(forwarded(plain, id)[0], `00-4bf92f3577b34da6a3ce929d0e0e4736-${attempts[0]!.spanId}-01`);
  });

  it('exports nothing for an incoming unsampled traceparent, and forwards it unsampled (parent-based)', async () => {
    const { id } = await get(`${gateway.url}/users/1`, { traceparent: `${INCOMING}-00` });
    assert.match(forwarded(plain, id)[0]!, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    // A sampled request sent after it is exported; the unsampled one still is not.
    const marker = await get(`${gateway.url}/users/2`);
    await spansOf(receiver, marker.id, 1);
    assert.equal(receiver.spans.some((s) => s.attributes['gatehouse.request_id'] === id), false);
  });
});

describe('tracing at sampleRatio 0', () => {
  let receiver: OtlpReceiver;
  let plain: FakeUpstream;
  let gateway: TestGateway;

  before(async () => {
    receiver = await startOtlpReceiver();
    plain = await startUpstream(echo('plain'));
    gateway = await startGateway(gatewayConfig(receiver, 0, { plain: [plain.url] }));
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([plain?.close(), receiver?.close()]);
  });

  it('forwards 00 on the traces it starts and exports none of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await get(`${gateway.url}/users/${i}`)).id);
    for (const id of ids) assert.match(forwarded(plain, id)[0]!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A client that forces sampling is exported: once its spans are in, nothing else was sent before them.
    const forced = await get(`${gateway.url}/users/x`, { traceparent: `${INCOMING}-01` });
    const { server, attempts } = await spansOf(receiver, forced.id, 1);
    assert.equal(server.parentSpanId, '00f067aa0ba902b7');
    assert.equal(forwarded(plain, forced.id)[0], `00-4bf92f3577b34da6a3ce929d0e0e4736-${attempts[0]!.spanId}-01`);
    await gateway.close();
    assert.equal(receiver.spans.length, 2);
  });
});

describe('tracing off', () => {
  let receiver: OtlpReceiver;
  let plain: FakeUpstream;
  let gateway: TestGateway;

  before(async () => {
    receiver = await startOtlpReceiver();
    plain = await startUpstream(echo('plain'));
    gateway = await startGateway(gatewayConfig(receiver, 1, { plain: [plain.url] }, false));
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([plain?.close(), receiver?.close()]);
  });

  it('forwards the flags it always did (01 for a trace started here, the client\'s otherwise) and exports nothing', async () => {
    const started = await get(`${gateway.url}/users/1`);
    const unsampled = await get(`${gateway.url}/users/2`, { traceparent: `${INCOMING}-00` });
    assert.match(forwarded(plain, started.id)[0]!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.match(forwarded(plain, unsampled.id)[0]!, /-00$/);
    assert.equal(gateway.instance.gateway.runtime.edge.tracing, undefined);
    await gateway.close();
    assert.equal(receiver.posts, 0);
  });
});

describe('tracing with the collector down', () => {
  it('serves every request while the export fails, and counts the spans lost', async () => {
    const plain = await startUpstream(echo('plain'));
    const down = `http://127.0.0.1:${await closedPort()}/v1/traces`;
    const gateway = await startGateway(gatewayConfig(down, 1, { plain: [plain.url] }));
    try {
      for (let i = 0; i < 30; i++) assert.equal((await get(`${gateway.url}/users/${i}`)).status, 200);
      const spanExport = (gateway.instance.gateway.runtime.edge.tracing as Tracing).spanExport;
      await until(() => spanExport.counts.failed > 0, 15_000, 'a failed export');
      assert.equal(spanExport.counts.exported, 0);
    } finally {
      await gateway.close();
      await plain.close();
    }
  });
});

describe('tracing an upgraded connection', () => {
  it('exports the upgrade as a server span and its handshake attempt as a client span, ending when the tunnel closes', async () => {
    const receiver = await startOtlpReceiver();
    const upstream = await startUpstream(echo('plain'));
    const traceparents: string[] = [];
    const wss = new WebSocketServer({ server: upstream.server });
    wss.on('connection', (socket, req) => {
      traceparents.push(String(req.headers.traceparent));
      socket.on('message', (data) => socket.send(data));
    });
    const gateway = await startGateway(gatewayConfig(receiver, 1, { plain: [upstream.url] }));
    try {
      const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/users/ws`, { headers: { 'x-request-id': 'trace-upgrade' }, handshakeTimeout: 5000 });
      await once(ws, 'open');
      ws.send('hello');
      await once(ws, 'message');
      ws.close();
      await once(ws, 'close');
      const { server, attempts } = await spansOf(receiver, 'trace-upgrade', 1);
      assert.equal(server.attributes['http.response.status_code'], 101);
      assert.equal(attempts[0]!.attributes['http.response.status_code'], 101);
      assert.deepEqual(traceparents, [`00-${server.traceId}-${attempts[0]!.spanId}-01`]);
    } finally {
      await gateway.close();
      wss.close();
      await Promise.all([upstream.close(), receiver.close()]);
    }
  });
});

describe('tracing with workers', () => {
  it('has each worker export its own spans, and flush them when it drains', async () => {
    const receiver = await startOtlpReceiver();
    const upstream = await startUpstream(echo('plain'));
    const file = join(tempDir('gatehouse-tracing-'), 'gatehouse.yaml');
    writeFileSync(file, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { enabled: false }',
      'workers: 2',
      `tracing: { enabled: true, endpoint: "${receiver.url}" }`,
      `upstreams: { u: { targets: [{ url: "${upstream.url}" }] } }`,
      'routes: [{ name: users, match: { path: /users }, upstream: u }]',
    ].join('\n'));
    // Nothing is sent before the drain: every span received was flushed at exit.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '600000';
    const gw = await spawnGateway(['start', '-c', file]).finally(() => { process.env.OTEL_BSP_SCHEDULE_DELAY = '20'; });
    try {
      const ids: string[] = [];
      // Each request on a new connection: the cluster hands connections to the workers in turn.
      for (let i = 0; i < 20; i++) ids.push((await get(`${gw.url}/users/${i}`)).id);
      assert.equal(receiver.posts, 0);
      assert.equal(await gw.stop('SIGTERM'), 0);
      assert.equal(new Set(receiver.spans.map((s) => s.resource['process.pid'])).size, 2, 'spans from two worker processes');
      for (const id of ids) assert.ok(receiver.spans.some((s) => s.attributes['gatehouse.request_id'] === id), id);
      assert.equal(receiver.spans.length, 40);
    } finally {
      killIfRunning(gw.proc);
      await Promise.all([upstream.close(), receiver.close()]);
    }
  });
});
