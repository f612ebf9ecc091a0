/**
 * The request lifecycle end to end (docs/lifecycle.md): policies run before a target is picked, the response
 * phase edits the head of upstream answers and local replies alike, a content reply goes out with its body,
 * and the access log says what happened — no target for requests refused before any attempt, the bytes of
 * the gateway's own bodies counted exactly. Also the HTTP/0.9 refusal and an upgrade answered with a plain 200.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../../src/policies/api-key-auth.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawExchange, rawRequest } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

const KEY = 'lifecycle-key-0123456789abcdef';
const ORIGIN = 'https://app.example.com';

interface RawAnswer {
  readonly status: number;
  /** As received: names in their case, repeated headers repeated. */
  readonly rawHeaders: string[];
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection, keeping the raw response headers. */
function send(gw: TestGateway, path: string, headers: Record<string, string | string[]> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}${path}`, { method, headers, agent: false, signal: AbortSignal.timeout(5000) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every value of `name` (any case) in a raw header list, in order. */
function valuesOf(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

describe('the request lifecycle', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  /** Answers with Access-Control-Allow-Origin: *, its own Server and Cache-Control, and the request headers it saw. */
  let loud: FakeUpstream;
  let gw: TestGateway;
  const markDown = (available: boolean) => {
    for (const state of gw.instance.gateway.targets.states()) if (state.upstream === 'down') state.available = available;
  };

  before(async () => {
    a = await startUpstream(echo('a'));
    b = await startUpstream(echo('b'));
    loud = await startUpstream((req, res) => {
      req.resume();
      const body = JSON.stringify({ rawHeaders: req.rawHeaders });
      res.writeHead(200, [
        ['access-control-allow-origin', '*'], ['server', 'upstream/1.0'], ['cache-control', 'max-age=60'],
        ['x-served-by', 'upstream'], ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))],
      ].flat());
      res.end(body);
    });
    const keyed = { type: 'api-key-auth', consumers: [{ id: 'tester', keys: [hashKey(KEY)] }] };
    gw = await startGateway({
      upstreams: {
        pair: { targets: [{ url: a.url }, { url: b.url }] },
        down: { targets: [{ url: a.url }] },
        loud: { targets: [{ url: loud.url }] },
      },
      routes: [
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'pair', policies: [keyed] },
        { name: 'down-keyed', match: { path: '/down-keyed' }, upstream: 'down', policies: [keyed] },
        { name: 'down-open', match: { path: '/down-open' }, upstream: 'down' },
        { name: 'cors', match: { path: '/cors' }, upstream: 'loud', policies: [{ type: 'cors', origins: [ORIGIN] }] },
        { name: 'transform', match: { path: '/transform', methods: ['GET'] }, upstream: 'loud', policies: [{
          type: 'header-transform',
          request: { remove: ['x-debug'], set: { 'x-env': 'staging' }, append: { 'x-tag': 'gateway' } },
          response: { remove: ['server'], set: { 'cache-control': 'no-store' }, append: { 'x-served-by': 'gatehouse' } },
        }] },
        { name: 'guarded', match: { path: '/guarded' }, upstream: 'loud', policies: [keyed, { type: 'header-transform', response: { append: { 'x-served-by': 'gatehouse' } } }] },
        { name: 'maintenance', match: { path: '/maintenance' }, upstream: 'pair', policies: [keyed, {
          type: 'request-termination', status: 503, body: '{"down":"until 10:00"}', contentType: 'application/json', headers: { 'retry-after': '3600' },
        }] },
        { name: 'plain', match: { path: '/plain' }, upstream: 'pair' },
      ],
    });
  });

  after(async () => {
    await gw?.close();
    await Promise.all([a?.close(), b?.close(), loud?.close()]);
  });

  describe('policies before the target is picked', () => {
    it('sends alternating refused and admitted requests evenly to both round-robin targets', async () => {
      const seen = { a: 0, b: 0 };
      const before = { a: a.received.length, b: b.received.length };
      for (let i = 0; i < 40; i++) {
        const admitted = i % 2 === 1;
        const r = await send(gw, `/keyed/${i}`, admitted ? { 'x-api-key': KEY } : {});
        if (!admitted) {
          assert.equal(r.status, 401, `request ${i}`);
          continue;
        }
        assert.equal(r.status, 200, `request ${i}: ${r.body}`);
        seen[r.headers['x-upstream'] as 'a' | 'b']++;
      }
      assert.deepEqual(seen, { a: 10, b: 10 });
      assert.deepEqual({ a: a.received.length - before.a, b: b.received.length - before.b }, { a: 10, b: 10 }, 'no refused request reached a target');
      const states = gw.instance.gateway.targets.states().filter((s) => s.upstream === 'pair');
      assert.deepEqual(states.map((s) => s.attempts), [10, 10], 'refused requests count against no target');
    });

    it('refuses a request without credentials with 401 even when its upstream has no target available', async () => {
      markDown(false);
      try {
        const refused = await send(gw, '/down-keyed', { 'x-request-id': 'down-401' });
        assertGatewayError(refused, 401, 'api_key_missing');
        assertGatewayError(await send(gw, '/down-keyed', { 'x-api-key': KEY, 'x-request-id': 'down-503' }), 503, 'no_healthy_upstream');
        assertGatewayError(await send(gw, '/down-open', { 'x-request-id': 'down-open-503' }), 503, 'no_healthy_upstream');
      } finally {
        markDown(true);
      }
    });
  });

  describe('the response phase', () => {
    it('replaces the upstream\'s Access-Control-Allow-Origin: exactly one, with the allowed origin', async () => {
      const r = await send(gw, '/cors/x', { origin: ORIGIN });
      assert.equal(r.status, 200);
      assert.deepEqual(valuesOf(r.rawHeaders, 'access-control-allow-origin'), [ORIGIN]);
      assert.deepEqual(valuesOf(r.rawHeaders, 'vary'), ['Origin']);
    });

    it('removes the upstream\'s Access-Control-Allow-Origin for an origin the route does not allow', async () => {
      const r = await send(gw, '/cors/x', { origin: 'https://evil.example.com' });
      assert.equal(r.status, 200);
      assert.deepEqual(valuesOf(r.rawHeaders, 'access-control-allow-origin'), []);
    });

    it('sets, appends and removes the request headers the upstream gets and the response headers the client gets', async () => {
      const r = await send(gw, '/transform', { 'x-env': 'client', 'x-tag': 'client', 'x-debug': '1' });
      assert.equal(r.status, 200);
      const upstreamSaw = (JSON.parse(r.body) as { rawHeaders: string[] }).rawHeaders;
      assert.deepEqual(valuesOf(upstreamSaw, 'x-env'), ['staging']);
      assert.deepEqual(valuesOf(upstreamSaw, 'x-tag'), ['client', 'gateway']);
      assert.deepEqual(valuesOf(upstreamSaw, 'x-debug'), []);
      assert.equal(valuesOf(upstreamSaw, 'x-request-id').length, 1, 'Gatehouse\'s own headers still follow');
      assert.deepEqual(valuesOf(r.rawHeaders, 'server'), []);
      assert.deepEqual(valuesOf(r.rawHeaders, 'cache-control'), ['no-store']);
      assert.deepEqual(valuesOf(r.rawHeaders, 'x-served-by'), ['upstream', 'gatehouse']);
    });

    it('edits the gateway\'s own replies on the route too, and leaves answers without a route alone', async () => {
      const refused = await send(gw, '/guarded');
      assertGatewayError(refused, 401, 'api_key_missing');
      assert.deepEqual(valuesOf(refused.rawHeaders, 'x-served-by'), ['gatehouse']);
      const unrouted = await send(gw, '/transform', {}, 'DELETE');
      assertGatewayError(unrouted, 405, 'method_not_allowed');
      assert.deepEqual(valuesOf(unrouted.rawHeaders, 'x-served-by'), [], 'a 405 matched no route, so no route\'s policies');
    });
  });

  describe('a content reply', () => {
    it('answers with its status, headers and body, logged once with its source, no reason and no target', async () => {
      const before = a.received.length + b.received.length;
      assertGatewayError(await send(gw, '/maintenance', { 'x-request-id': 'maint-401' }), 401, 'api_key_missing', 'auth runs first');
      const r = await send(gw, '/maintenance', { 'x-api-key': KEY, 'x-request-id': 'maint-1' });
      assert.equal(r.status, 503);
      assert.equal(r.body, '{"down":"until 10:00"}');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['retry-after'], '3600');
      assert.equal(r.headers['content-length'], '22');
      assert.equal(r.headers['x-request-id'], 'maint-1');
      const line = await logLine(gw, 'maint-1');
      assert.equal(line.status, 503);
      assert.equal(line.source, 'request-termination');
      assert.equal(line.reason, undefined);
      assert.equal(line.bytesOut, 22);
      assert.equal(line.target, undefined);
      assert.equal(line.consumer, 'tester');
      assert.equal(gw.accessLog().filter((l) => l.requestId === 'maint-1').length, 1);
      assert.equal(a.received.length + b.received.length, before, 'no upstream was contacted');
    });
  });

  describe('the access log', () => {
    it('names no target for requests refused before any attempt', async () => {
      await send(gw, '/nowhere', { 'x-request-id': 'log-404' });
      await send(gw, '/keyed', { 'x-request-id': 'log-401' });
      markDown(false);
      try {
        await send(gw, '/down-open', { 'x-request-id': 'log-503' });
      } finally {
        markDown(true);
      }
      for (const [id, status, reason] of [['log-404', 404, 'route_not_found'], ['log-401', 401, 'api_key_missing'], ['log-503', 503, 'no_healthy_upstream']] as const) {
        const line = await logLine(gw, id);
        assert.deepEqual([line.status, line.reason, line.target], [status, reason, undefined], id);
      }
      assert.equal((await logLine(gw, 'log-503')).upstream, 'down', 'the route and upstream are known, the target is not');
    });

    it('counts the bytes of the gateway\'s own error bodies exactly, and none for a HEAD answer', async () => {
      for (const [id, path, headers] of [['bytes-404', '/nowhere', {}], ['bytes-401', '/keyed', {}], ['bytes-405', '/transform', {}]] as const) {
        const r = await send(gw, path, { ...headers, 'x-request-id': id }, id === 'bytes-405' ? 'POST' : 'GET');
        assert.ok(r.body.length > 0);
        assert.equal((await logLine(gw, id)).bytesOut, Buffer.byteLength(r.body), id);
      }
      const head = await send(gw, '/nowhere', { 'x-request-id': 'bytes-head' }, 'HEAD');
      assert.equal(head.status, 404);
      assert.equal(head.body, '');
      assert.equal((await logLine(gw, 'bytes-head')).bytesOut, 0);
    });
  });

  it('refuses an HTTP/0.9 request line with 505 http_version_not_supported and forwards nothing', async () => {
    const before = a.received.length + b.received.length;
    const r = await rawRequest(gw.instance.address.port, ['GET /plain\r\n\r\n']);
    const { error } = assertGatewayError(r, 505, 'http_version_not_supported');
    const line = await logLine(gw, error.requestId);
    assert.deepEqual([line.status, line.reason, line.route, line.target, line.bytesOut], [505, 'http_version_not_supported', undefined, undefined, Buffer.byteLength(r.body)]);
    assert.equal(a.received.length + b.received.length, before, 'no upstream saw it');
  });

  it('relays a plain 200 from an upstream asked to upgrade, logged with status 200 and no reason', async () => {
    const r = await rawExchange(gw.instance.address.port, ['GET /plain/ws HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: ws-plain\r\nConnection: Upgrade\r\n' +
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'], { timeoutMs: 3000 });
    assert.ok(r.closed, 'the connection closes after the answer');
    assert.equal(r.responses.length, 1, r.bytes.toString('latin1'));
    const answer = r.responses[0]!;
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-request-id'], 'ws-plain');
    const body = JSON.parse(answer.body) as { upstream: string; url: string };
    assert.equal(body.url, '/plain/ws');
    const line = await logLine(gw, 'ws-plain');
    assert.equal(line.status, 200);
    assert.equal(line.reason, undefined);
    assert.equal(line.target, body.upstream === 'a' ? a.url : b.url);
    await until(() => gw.instance.gateway.runtime.inFlight === 0, 2000, 'the upgrade request to finish');
  });
});
