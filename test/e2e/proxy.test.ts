/**
 * The data plane end to end, on real sockets: routing (host, prefix at segment boundaries, exact, params,
 * method, headers, stripPrefix, target base paths), the gateway's own answers (404, 405, malformed requests,
 * unsafe paths), request ID and trace context, hop-by-hop stripping both ways, X-Forwarded-* and Via, Host
 * handling, round-robin, and the access log line. Malformed requests go over raw `net` sockets so the test
 * controls every byte.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request, type Answer } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawRequest as rawHttpRequest, type RawResponse } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

interface Echoed {
  readonly upstream: string;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
}

function echoed(answer: Answer): Echoed {
  assert.equal(answer.status, 200, `expected 200 from an upstream, got ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as Echoed;
}

/**
 * Writes `parts` on a raw socket (pausing `gapMs` between parts) and reads one well-formed HTTP/1.1 response
 * (helpers/raw-http.ts), which must be framed by Content-Length.
 */
async function rawRequest(port: number, parts: ReadonlyArray<string | Buffer>, gapMs = 0, timeoutMs = 5000): Promise<RawResponse> {
  const r = await rawHttpRequest(port, parts, { gapMs, timeoutMs });
  assert.ok(r.headers['content-length'] !== undefined, `response without a Content-Length: ${r.statusLine}`);
  return r;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('routing through the gateway', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let v2: FakeUpstream;
  let rr1: FakeUpstream;
  let rr2: FakeUpstream;
  let gateway: TestGateway;

  before(async () => {
    [a, b, v2, rr1, rr2] = await Promise.all([
      startUpstream(echo('a')), startUpstream(echo('b')), startUpstream(echo('v2')), startUpstream(echo('rr1')), startUpstream(echo('rr2')),
    ]);
    gateway = await startGateway({
      upstreams: {
        a: { targets: [{ url: a.url }] },
        b: { targets: [{ url: b.url }] },
        v2: { targets: [{ url: v2.url }] },
        rr: { balancer: 'round-robin', targets: [{ url: rr1.url }, { url: rr2.url }] },
        based: { targets: [{ url: `${b.url}/base/` }] },
      },
      routes: [
        { name: 'users', match: { path: '/api/users' }, upstream: 'a' },
        { name: 'users-v2', match: { path: '/api/users', headers: { 'x-api-version': '2' } }, upstream: 'v2' },
        { name: 'hosted', match: { host: 'api.example.com', path: '/h' }, upstream: 'b' },
        { name: 'unhosted', match: { path: '/h' }, upstream: 'a' },
        { name: 'exact', match: { path: '/exact', exact: true }, upstream: 'a' },
        { name: 'params', match: { path: '/items/:id/detail' }, upstream: 'a' },
        { name: 'readonly', match: { path: '/readonly', methods: ['GET', 'HEAD'] }, upstream: 'a' },
        { name: 'strip', match: { path: '/strip' }, upstream: 'a', stripPrefix: true },
        { name: 'based-strip', match: { path: '/based' }, upstream: 'based', stripPrefix: true },
        { name: 'based-kept', match: { path: '/kept' }, upstream: 'based' },
        { name: 'rr', match: { path: '/rr' }, upstream: 'rr' },
        { name: 'rehost', match: { path: '/rehost' }, upstream: 'b', preserveHost: false },
      ],
    });
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([a, b, v2, rr1, rr2].map((u) => u?.close()));
  });

  it('matches a path prefix at segment boundaries only', async () => {
    for (const path of ['/api/users', '/api/users/', '/api/users/1', '/api/users/1/orders?x=1']) {
      const e = echoed(await request(gateway.url, path));
      assert.equal(e.upstream, 'a', path);
      assert.equal(e.url, path, 'the path is forwarded unchanged');
    }
    for (const path of ['/api/usersx', '/api/user', '/api', '/API/users']) {
      const r = await request(gateway.url, path);
      assert.equal(r.status, 404, path);
    }
  });

  it('matches an exact route with or without a trailing slash, and nothing below it', async () => {
    assert.equal(echoed(await request(gateway.url, '/exact')).url, '/exact');
    assert.equal(echoed(await request(gateway.url, '/exact/')).url, '/exact/');
    assert.equal((await request(gateway.url, '/exact/more')).status, 404);
  });

  it('matches parameter segments', async () => {
    assert.equal(echoed(await request(gateway.url, '/items/42/detail')).url, '/items/42/detail');
    assert.equal(echoed(await request(gateway.url, '/items/abc-1/detail/x')).url, '/items/abc-1/detail/x');
    assert.equal((await request(gateway.url, '/items/42')).status, 404);
  });

  it('routes by host, ignoring the port and case, and falls back to the route without a host', async () => {
    assert.equal(echoed(await request(gateway.url, '/h', { headers: { host: 'api.example.com' } })).upstream, 'b');
    assert.equal(echoed(await request(gateway.url, '/h', { headers: { host: 'API.Example.com:8443' } })).upstream, 'b');
    assert.equal(echoed(await request(gateway.url, '/h', { headers: { host: 'other.example.com' } })).upstream, 'a');
  });

  it('routes x-api-version: 2 to the v2 upstream and other requests to v1', async () => {
    assert.equal(echoed(await request(gateway.url, '/api/users/7', { headers: { 'x-api-version': '2' } })).upstream, 'v2');
    assert.equal(echoed(await request(gateway.url, '/api/users/7', { headers: { 'x-api-version': '3' } })).upstream, 'a');
    assert.equal(echoed(await request(gateway.url, '/api/users/7')).upstream, 'a');
  });

  it('answers a method the route does not take with 405, the Allow header and the JSON error body', async () => {
    const r = await request(gateway.url, '/readonly/x', { method: 'POST', body: 'x' });
    assertGatewayError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.equal(echoed(await request(gateway.url, '/readonly/x')).upstream, 'a');
  });

  it('strips the matched prefix when the route says so', async () => {
    assert.equal(echoed(await request(gateway.url, '/strip/a/b?q=1')).url, '/a/b?q=1');
    assert.equal(echoed(await request(gateway.url, '/strip')).url, '/');
    assert.equal(echoed(await request(gateway.url, '/strip/')).url, '/');
  });

  it('prefixes the target URL\'s base path to the forwarded path', async () => {
    assert.equal(echoed(await request(gateway.url, '/based/x?y=1')).url, '/base/x?y=1');
    assert.equal(echoed(await request(gateway.url, '/kept/x')).url, '/base/kept/x');
  });

  it('answers an unrouted request with 404 route_not_found, the JSON body and X-Request-ID', async () => {
    const before = a.received.length + b.received.length;
    const r = await request(gateway.url, '/nowhere');
    const body = assertGatewayError(r, 404, 'route_not_found');
    assert.match(body.error.requestId, UUID);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(a.received.length + b.received.length, before, 'no upstream was contacted');
    const line = await logLine(gateway, body.error.requestId);
    assert.equal(line.status, 404);
    assert.equal(line.reason, 'route_not_found');
  });

  it('balances round-robin across two targets', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(echoed(await request(gateway.url, '/rr')).upstream);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `not alternating: ${seen.join(',')}`);
    assert.equal(seen.filter((s) => s === 'rr1').length, 3);
    assert.equal(seen.filter((s) => s === 'rr2').length, 3);
  });

  it('normalises //api//users//x and routes it', async () => {
    const e = echoed(await request(gateway.url, '//api//users//x?q=//'));
    assert.equal(e.upstream, 'a');
    assert.equal(e.url, '/api/users/x?q=//');
  });

  it('keeps a sane X-Request-ID, forwards it and echoes it', async () => {
    const id = 'req-42.abc_DEF:9@x/y+z=';
    const r = await request(gateway.url, '/api/users', { headers: { 'x-request-id': id } });
    assert.equal(r.headers['x-request-id'], id);
    assert.equal(echoed(r).headers['x-request-id'], id);
    assert.equal((await logLine(gateway, id)).requestId, id);
  });

  it('replaces an X-Request-ID that is too long or has unsafe characters', async () => {
    const port = gateway.instance.address.port;
    for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', 'quote"', '<script>', 'caf\u00e9', 'a,b']) {
      const r = await rawRequest(port, [Buffer.from(`GET /api/users HTTP/1.1\r\nHost: x\r\nX-Request-ID: ${bad}\r\nConnection: close\r\n\r\n`, 'latin1')]);
      assert.equal(r.status, 200);
      const id = r.headers['x-request-id'];
      assert.match(String(id), UUID, `${JSON.stringify(bad)} was kept`);
      assert.equal((JSON.parse(r.body) as Echoed).headers['x-request-id'], id, 'the upstream got the generated ID');
    }
    // The longest accepted ID is 128 characters.
    const longest = 'y'.repeat(128);
    assert.equal((await request(gateway.url, '/api/users', { headers: { 'x-request-id': longest } })).headers['x-request-id'], longest);
  });

  it('forwards a valid traceparent with the same trace id and a new parent span id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const incoming = `00-${traceId}-00f067aa0ba902b7-01`;
    const r = await request(gateway.url, '/api/users', { headers: { traceparent: incoming } });
    const sent = String(echoed(r).headers.traceparent);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(sent);
    assert.ok(m, `malformed traceparent upstream: ${sent}`);
    assert.equal(m[1], traceId);
    assert.notEqual(m[2], '00f067aa0ba902b7');
    assert.notEqual(m[2], '0'.repeat(16));
    assert.equal(m[3], '01', 'the sampled flag passes through');
    assert.equal((await logLine(gateway, String(r.headers['x-request-id']))).traceId, traceId);
  });

  it('starts a new trace when traceparent is missing or invalid', async () => {
    const invalid = [
      undefined,
      'garbage',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ];
    const traceIds = new Set<string>();
    for (const tp of invalid) {
      const r = await request(gateway.url, '/api/users', { headers: tp === undefined ? {} : { traceparent: tp } });
      const sent = String(echoed(r).headers.traceparent);
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent);
      assert.ok(m, `malformed traceparent for ${tp}: ${sent}`);
      assert.notEqual(m[1], '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.notEqual(m[1], '0'.repeat(32));
      traceIds.add(m[1]!);
    }
    assert.equal(traceIds.size, invalid.length, 'each request starts its own trace');
  });

  it('strips hop-by-hop request headers and those named in Connection, but not the gateway\'s own', async () => {
    const r = await rawRequest(gateway.instance.address.port, [
      'GET /api/users/hop HTTP/1.1\r\nHost: hop.test\r\n' +
      'Connection: x-custom, X-Forwarded-For, x-request-id, traceparent, via, keep-alive\r\n' +
      'X-Custom: secret\r\nKeep-Alive: timeout=300\r\nTE: trailers\r\nTrailer: x-t\r\nUpgrade: foo/1\r\n' +
      'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 6.6.6.6\r\n' +
      'X-Request-ID: client-id-1\r\nX-Kept: yes\r\n\r\n',
    ]);
    assert.equal(r.status, 200);
    const seen = (JSON.parse(r.body) as Echoed).headers;
    for (const name of ['x-custom', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection']) {
      assert.equal(seen[name], undefined, `${name} reached the upstream`);
    }
    assert.equal(seen['x-kept'], 'yes');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-request-id'], r.headers['x-request-id']);
    assert.match(String(seen.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(seen.via, '1.1 gatehouse');
    assert.equal(seen['x-forwarded-host'], 'hop.test');
    // The client's Connection is not forwarded: it must not name the headers the gateway adds (nor x-custom),
    // or the upstream would drop them as hop-by-hop.
    assert.doesNotMatch(String(seen.connection ?? ''), /\b(x-forwarded-for|x-request-id|traceparent|via|x-custom)\b/i, `connection: ${seen.connection}`);
  });

  it('strips hop-by-hop response headers and those the upstream names in Connection', async () => {
    // A raw upstream, since Node's server refuses to send some of these headers itself.
    const hop = net.createServer((socket) => {
      let head = '';
      socket.on('data', (c: Buffer) => {
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        head = '';
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: x-upstream-secret, keep-alive\r\n' +
          'X-Upstream-Secret: s3cret\r\nKeep-Alive: timeout=99\r\nTrailer: x-t\r\nUpgrade: foo/1\r\n' +
          'Proxy-Authenticate: Basic\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok');
      });
      socket.on('error', () => socket.destroy());
    });
    hop.listen(0, '127.0.0.1');
    await once(hop, 'listening');
    const hopUrl = `http://127.0.0.1:${(hop.address() as net.AddressInfo).port}`;
    const g = await startGateway({ upstreams: { hop: { targets: [{ url: hopUrl }] } }, routes: [{ name: 'hop', match: { path: '/' }, upstream: 'hop' }] });
    try {
      const r = await request(g.url, '/x');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'ok');
      assert.equal(r.headers['x-kept'], 'yes');
      for (const name of ['x-upstream-secret', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-connection', 'te']) {
        assert.equal(r.headers[name], undefined, `${name} reached the client`);
      }
      assert.notEqual(r.headers['keep-alive'], 'timeout=99', 'the upstream\'s Keep-Alive reached the client');
      assert.doesNotMatch(String(r.headers.connection), /x-upstream-secret/);
    } finally {
      await g.close();
      hop.close();
    }
  });

  it('sets X-Forwarded-For/Proto/Host and Via, replacing client-sent copies', async () => {
    const e = echoed(await request(gateway.url, '/api/users', {
      headers: {
        host: 'shop.example.com:8080', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example.com', via: '1.0 fred', forwarded: 'for=1.2.3.4', 'x-real-ip': '1.2.3.4',
      },
    }));
    assert.equal(e.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(e.headers['x-forwarded-proto'], 'http');
    assert.equal(e.headers['x-forwarded-host'], 'shop.example.com:8080');
    assert.equal(e.headers.via, '1.1 gatehouse');
    assert.equal(e.headers.forwarded, undefined);
    assert.equal(e.headers['x-real-ip'], undefined);
  });

  it('preserves the client\'s Host by default and sends the target\'s with preserveHost: false', async () => {
    assert.equal(echoed(await request(gateway.url, '/api/users', { headers: { host: 'keep.example.com' } })).headers.host, 'keep.example.com');
    const e = echoed(await request(gateway.url, '/rehost', { headers: { host: 'keep.example.com' } }));
    assert.equal(e.headers.host, `127.0.0.1:${b.port}`);
    assert.equal(e.headers['x-forwarded-host'], 'keep.example.com');
  });

  it('writes one access log line with every field', async () => {
    const id = 'log-line-test-1';
    const startedAt = Date.now();
    const r = await request(gateway.url, '//api/users/9?debug=1', {
      method: 'POST', body: 'hello world', headers: { 'x-request-id': id, host: 'log.example.com', 'content-type': 'text/plain' },
    });
    const e = echoed(r);
    const line = await logLine(gateway, id);
    for (const field of ['time', 'requestId', 'traceId', 'method', 'host', 'path', 'route', 'upstream', 'target', 'status', 'bytesIn', 'bytesOut', 'durationMs', 'upstreamMs', 'clientIp']) {
      assert.ok(field in line, `access log line lacks ${field}: ${JSON.stringify(line)}`);
    }
    assert.equal(typeof line.time, 'number');
    assert.ok((line.time as number) >= startedAt - 5 && (line.time as number) <= Date.now());
    assert.match(String(line.traceId), /^[0-9a-f]{32}$/);
    assert.equal(line.method, 'POST');
    assert.equal(line.host, 'log.example.com');
    assert.equal(line.path, '/api/users/9');
    assert.equal(line.route, 'users');
    assert.equal(line.upstream, 'a');
    assert.equal(line.target, a.url);
    assert.equal(line.status, 200);
    assert.equal(line.reason, undefined);
    assert.equal(line.bytesIn, 11);
    assert.equal(e.bodyBytes, 11);
    assert.equal(line.bytesOut, Buffer.byteLength(r.body));
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(typeof line.upstreamMs, 'number');
    assert.ok((line.upstreamMs as number) >= 0 && (line.upstreamMs as number) <= (line.durationMs as number));
    assert.equal(line.clientIp, '127.0.0.1');
  });
});

describe('malformed and unsafe requests', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let port: number;
  const maxUrlLength = 1024;
  const maxHeaderSize = 4096;

  before(async () => {
    upstream = await startUpstream(echo('up'));
    gateway = await startGateway({
      server: { maxUrlLength, maxHeaderSize, headersTimeout: '500ms' },
      upstreams: { up: { targets: [{ url: upstream.url }] } },
      routes: [{ name: 'api', match: { path: '/' }, upstream: 'up' }],
    });
    port = gateway.instance.address.port;
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('answers a garbage request line with 400 bad_request and the JSON body', async () => {
    for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header\r\n\r\n']) {
      const r = await rawRequest(port, [garbage]);
      assertGatewayError(r, 400, 'bad_request', JSON.stringify(garbage));
    }
    assert.equal(upstream.received.length, 0);
  });

  it('answers a header block over server.maxHeaderSize with 431 headers_too_large', async () => {
    const received = upstream.received.length;
    // Just over the configured limit (Node's parser allows it: its limit includes room for the URL) ...
    const over = `GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(maxHeaderSize)}\r\n\r\n`;
    const r1 = await rawRequest(port, [over]);
    assertGatewayError(r1, 431, 'headers_too_large');
    // ... and far over it, where Node's parser gives up.
    const giant = `GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`;
    const r2 = await rawRequest(port, [giant]);
    assertGatewayError(r2, 431, 'headers_too_large');
    // Many small headers count as much as one big one.
    const many = `GET /a HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('')}\r\n`;
    const r3 = await rawRequest(port, [many]);
    assertGatewayError(r3, 431, 'headers_too_large', 'many small headers');
    assert.equal(upstream.received.length, received, 'nothing reached the upstream');
  });

  it('accepts a header block just under server.maxHeaderSize', async () => {
    const head = `GET /fits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
    const filler = 'X-Fill: ';
    const r = await rawRequest(port, [`${head}${filler}${'f'.repeat(maxHeaderSize - 200)}\r\n\r\n`]);
    assert.equal(r.status, 200);
  });

  it('answers a URL a bit over server.maxUrlLength with 414 uri_too_long', async () => {
    const received = upstream.received.length;
    const path = `/${'u'.repeat(maxUrlLength + 10)}`;
    const r = await rawRequest(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    assertGatewayError(r, 414, 'uri_too_long');
    const atLimit = await rawRequest(port, [`GET /${'u'.repeat(maxUrlLength - 1)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    assert.equal(atLimit.status, 200, 'a URL of exactly maxUrlLength is accepted');
    assert.equal(upstream.received.length, received + 1);
  });

  it('answers a giant URL sent in one write with 414 uri_too_long', async () => {
    const received = upstream.received.length;
    const r = await rawRequest(port, [`GET /${'g'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    assertGatewayError(r, 414, 'uri_too_long');
    assert.equal(upstream.received.length, received);
  });

  it('answers a giant URL that arrives in many packets with 414, not 431', async () => {
    // The parser overflows while reading a packet that holds only the middle of the request target.
    const line = `GET /${'g'.repeat(100 * 1024)}?q=${'x'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const pieces = Array.from({ length: 12 }, (_, i) => line.slice(i * 1000, (i + 1) * 1000));
    const r1 = await rawRequest(port, pieces, 5);
    assertGatewayError(r1, 414, 'uri_too_long');
    // Here the overflowing packet holds the end of a request line that began in an earlier one.
    const limit = maxHeaderSize + maxUrlLength;
    const head = `GET /${'h'.repeat(limit)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r2 = await rawRequest(port, [head.slice(0, limit - 100), head.slice(limit - 100)], 20);
    assertGatewayError(r2, 414, 'uri_too_long');
  });

  it('answers a giant header that arrives in many packets with 431, not 414', async () => {
    const cookie = `GET /a HTTP/1.1\r\nHost: x\r\nCookie: ${'session=abcdef; '.repeat(1000)}\r\n\r\n`;
    const r1 = await rawRequest(port, Array.from({ length: 12 }, (_, i) => cookie.slice(i * 1000, (i + 1) * 1000)), 5);
    assertGatewayError(r1, 431, 'headers_too_large');
    const many = `GET /a HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('')}\r\n`;
    const r2 = await rawRequest(port, Array.from({ length: 12 }, (_, i) => many.slice(i * 1000, (i + 1) * 1000)), 5);
    assertGatewayError(r2, 431, 'headers_too_large');
  });

  it('answers a request head sent too slowly with 408 request_timeout after server.headersTimeout', async () => {
    const started = performance.now();
    // One header line every 100 ms: the connection stays busy but the head never completes in time.
    const parts = ['GET /slow HTTP/1.1\r\n', ...Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: 1\r\n`)];
    const r = await rawRequest(port, parts, 100, 4000);
    const elapsed = performance.now() - started;
    assertGatewayError(r, 408, 'request_timeout');
    assert.ok(elapsed >= 500, `answered after ${elapsed} ms, before the 500 ms headersTimeout`);
    assert.ok(elapsed < 1500, `answered after ${elapsed} ms`);
    assert.equal(upstream.received.filter((x) => x.url === '/slow').length, 0);
  });

  it('refuses path traversal and encoding tricks with 400 bad_path before any upstream is contacted', async () => {
    const received = upstream.received.length;
    const paths = [
      '/api/../x', '/api/./x', '/api/..', '/api/%2e%2e/x', '/api/%2E%2e/x', '/api/.%2e/x', '/api/%2f', '/api/%2F..%2Fx',
      '/api/%5c', '/a\\b', '/api/%00', '/api/x%00.json', '/api/%252e%252e/x', '/api/%252f', '/api/%zz', '/api/%2',
    ];
    for (const path of paths) {
      const r = await rawRequest(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      assertGatewayError(r, 400, 'bad_path', path);
      const line = await logLine(gateway, r.headers['x-request-id']!);
      assert.equal(line.reason, 'bad_path', path);
    }
    assert.equal(upstream.received.length, received, `the upstream received ${upstream.received.slice(received).map((x) => x.url).join(', ')}`);
  });

  it('forwards the normalised path: duplicate slashes collapsed, unreserved escapes decoded', async () => {
    const r = await rawRequest(port, ['GET //api//%61b%7e//x%2Ay?q=%2e%2e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as Echoed).url, '/api/ab~/x%2Ay?q=%2e%2e');
  });
});
