/**
 * Policies end to end on real sockets: api-key-auth, ip-filter, cors (preflight before auth, by announced
 * method), request-size-limit (declared, streamed, 100-continue), content-type-filter, identity headers
 * (client copies stripped in every spelling, set from the verified identity), trusted proxies, gateway-wide
 * policies with route overrides, and policies on upgrades. Every refusal is checked for its status and
 * reason, and for the upstream having received nothing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../../src/policies/api-key-auth.ts';
import { request, type Answer } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawRequest } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

/** An open raw connection to `gw` that collects what it receives as text (socket errors are left to `data()`). */
async function rawConnection(gw: TestGateway): Promise<{ socket: net.Socket; data: () => string }> {
  const socket = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
  await once(socket, 'connect');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => { data += c; });
  socket.on('error', () => {});
  return { socket, data: () => data };
}

const seen = (up: FakeUpstream, path: string) => up.received.filter((r) => r.url.startsWith(path));

const ALICE_KEY = 'alice-key-0123456789abcdef';
const BOB_KEY = 'bob-key-0123456789abcdef';

describe('policies end to end', () => {
  let up: FakeUpstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream(echo('svc'));
    gw = await startGateway({
      upstreams: { svc: { targets: [{ url: up.url }] } },
      identity: { claimHeaders: {}, stripHeaders: ['x-internal-role'] },
      policies: [{ type: 'cors', origins: ['https://app.example.com'], credentials: true }],
      routes: [
        { name: 'keyed', match: { path: '/keyed', methods: ['GET', 'POST'] }, upstream: 'svc', policies: [
          { type: 'api-key-auth', query: 'api_key', consumers: [{ id: 'alice', keys: [hashKey(ALICE_KEY)] }, { id: 'bob', keys: [hashKey(BOB_KEY)] }] },
        ] },
        { name: 'denied', match: { path: '/denied' }, upstream: 'svc', policies: [{ type: 'ip-filter', deny: ['127.0.0.0/8'] }] },
        { name: 'allowed', match: { path: '/allowed' }, upstream: 'svc', policies: [{ type: 'ip-filter', allow: ['127.0.0.1', '::1'] }] },
        { name: 'small', match: { path: '/small' }, upstream: 'svc', policies: [{ type: 'request-size-limit', maxBytes: 1000 }] },
        { name: 'json', match: { path: '/json' }, upstream: 'svc', policies: [{ type: 'content-type-filter', allow: ['application/json', 'image/*'] }] },
        { name: 'other-cors', match: { path: '/other-cors' }, upstream: 'svc', policies: [{ type: 'cors', origins: ['https://other.example.com'] }] },
        { name: 'no-defaults', match: { path: '/no-defaults' }, upstream: 'svc', inheritPolicies: false },
        { name: 'open', match: { path: '/' }, upstream: 'svc', inheritPolicies: false },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  describe('api-key-auth', () => {
    it('refuses a request without a key with 401 api_key_missing and a challenge, forwarding nothing', async () => {
      const before = up.received.length;
      const a = await request(gw.url, '/keyed/x');
      assertGatewayError(a, 401, 'api_key_missing');
      assert.match(String(a.headers['www-authenticate']), /^ApiKey realm="gatehouse"/);
      assert.equal(up.received.length, before);
    });

    it('refuses an unknown key with 401 api_key_invalid', async () => {
      const before = up.received.length;
      const a = await request(gw.url, '/keyed/x', { headers: { 'x-api-key': 'nope' } });
      assertGatewayError(a, 401, 'api_key_invalid');
      assert.equal(up.received.length, before);
    });

    it('admits a known key, names the consumer and does not forward the key', async () => {
      const a = await request(gw.url, '/keyed/x', { headers: { 'x-api-key': BOB_KEY } });
      assert.equal(a.status, 200);
      const got = JSON.parse(a.body) as { headers: Record<string, string>; url: string };
      assert.equal(got.headers['x-consumer-id'], 'bob');
      assert.equal(got.headers['x-api-key'], undefined);
      const line = await logLine(gw, String(a.headers['x-request-id']));
      assert.equal(line.consumer, 'bob');
    });

    it('takes the key from the query and removes it from the forwarded URL', async () => {
      const a = await request(gw.url, `/keyed/q?a=1&api_key=${ALICE_KEY}&b=%2F`);
      assert.equal(a.status, 200);
      const got = JSON.parse(a.body) as { headers: Record<string, string>; url: string };
      assert.equal(got.url, '/keyed/q?a=1&b=%2F');
      assert.equal(got.headers['x-consumer-id'], 'alice');
    });

    it('replaces client-sent identity headers in every spelling, with and without a valid key', async () => {
      const spoof = { 'X-Consumer-Id': 'admin', 'X_Consumer_Id': 'admin', 'x-user-id': 'root', 'X_User_Id': 'root', 'x-internal-role': 'admin', 'X_INTERNAL_ROLE': 'admin' };
      const withKey = await request(gw.url, '/keyed/s', { headers: { ...spoof, 'x-api-key': ALICE_KEY } });
      const open = await request(gw.url, '/open/s', { headers: spoof });
      for (const a of [withKey, open]) {
        assert.equal(a.status, 200);
        const received = up.received.find((r) => r.headers['x-request-id'] === a.headers['x-request-id'])!;
        const names = received.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase().replaceAll('_', '-'));
        assert.deepEqual(names.filter((n) => n === 'x-user-id' || n === 'x-internal-role'), []);
        const consumers = received.rawHeaders.filter((_, i) => i % 2 === 1 && received.rawHeaders[i - 1]!.toLowerCase().replaceAll('_', '-') === 'x-consumer-id');
        assert.deepEqual(consumers, a === withKey ? ['alice'] : []);
      }
    });

    it('runs before the 101 on an upgrade: no key, no upgrade, and the upstream sees nothing', async () => {
      const before = up.received.length;
      const r = await rawRequest(gw.instance.address.port, [
        'GET /keyed/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ]);
      assertGatewayError(r, 401, 'api_key_missing', 'upgrade without a key');
      assert.match(r.headers['www-authenticate'] ?? '', /^ApiKey realm="gatehouse"/);
      assert.equal(up.received.length, before);
    });
  });

  describe('ip-filter', () => {
    it('refuses a denied client with 403 ip_denied and forwards nothing', async () => {
      const a = await request(gw.url, '/denied');
      assertGatewayError(a, 403, 'ip_denied');
      assert.equal(seen(up, '/denied').length, 0);
    });

    it('admits a client on the allow list', async () => {
      assert.equal((await request(gw.url, '/allowed')).status, 200);
    });
  });

  describe('cors', () => {
    const preflight = (path: string, origin: string, method: string, headers = 'authorization, content-type') => request(gw.url, path, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

    it('answers a preflight for an authenticated POST route at the gateway with 204, before auth', async () => {
      const before = up.received.length;
      const a = await preflight('/keyed/x', 'https://app.example.com', 'POST');
      assert.equal(a.status, 204);
      assert.equal(a.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(a.headers['access-control-allow-credentials'], 'true');
      assert.match(String(a.headers['access-control-allow-methods']), /POST/);
      assert.equal(a.headers['access-control-max-age'], '600');
      assert.match(String(a.headers.vary), /Origin/);
      assert.ok(a.headers['x-request-id']);
      assert.equal(up.received.length, before);
    });

    it('refuses a preflight from an origin not allowed with 403 cors_origin_not_allowed', async () => {
      const before = up.received.length;
      const a = await preflight('/keyed/x', 'https://evil.example.net', 'POST');
      assertGatewayError(a, 403, 'cors_origin_not_allowed');
      assert.equal(a.headers['access-control-allow-origin'], undefined);
      assert.equal(up.received.length, before);
    });

    it('refuses a preflight asking for a header not allowed with 403 cors_origin_not_allowed', async () => {
      const before = up.received.length;
      const a = await preflight('/keyed/x', 'https://app.example.com', 'POST', 'x-secret');
      assertGatewayError(a, 403, 'cors_origin_not_allowed', 'preflight for x-secret');
      assert.equal(up.received.length, before, 'the upstream received the refused preflight');
    });

    it('uses the route\'s own cors policy in place of the gateway-wide one', async () => {
      const before = up.received.length;
      assertGatewayError(await preflight('/other-cors', 'https://app.example.com', 'GET'), 403, 'cors_origin_not_allowed', 'the gateway-wide origin on /other-cors');
      assert.equal((await preflight('/other-cors', 'https://other.example.com', 'GET')).status, 204);
      assert.equal(up.received.length, before, 'preflights, answered or refused, never reach the upstream');
    });

    it('adds CORS headers to the gateway\'s own refusals and to proxied answers, with Vary: Origin always', async () => {
      const refused = await request(gw.url, '/keyed/x', { headers: { origin: 'https://app.example.com' } });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.match(String(refused.headers['access-control-expose-headers']), /x-request-id/);
      const ok = await request(gw.url, '/keyed/x', { headers: { origin: 'https://app.example.com', 'x-api-key': ALICE_KEY } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
      const stranger = await request(gw.url, '/keyed/x', { headers: { origin: 'https://evil.example.net', 'x-api-key': ALICE_KEY } });
      assert.equal(stranger.headers['access-control-allow-origin'], undefined);
      assert.match(String(stranger.headers.vary), /Origin/);
      const none = await request(gw.url, '/allowed');
      assert.match(String(none.headers.vary), /Origin/);
    });

    it('leaves routes that opt out of gateway-wide policies alone', async () => {
      const a = await request(gw.url, '/no-defaults', { headers: { origin: 'https://app.example.com' } });
      assert.equal(a.status, 200);
      assert.equal(a.headers['access-control-allow-origin'], undefined);
    });
  });

  describe('request-size-limit', () => {
    it('refuses a declared length over the limit with 413 before contacting the upstream', async () => {
      const a = await request(gw.url, '/small', { method: 'POST', body: Buffer.alloc(1001) });
      assertGatewayError(a, 413, 'request_body_too_large');
      assert.equal(seen(up, '/small').length, 0);
    });

    it('admits a body at the limit', async () => {
      const a = await request(gw.url, '/small', { method: 'POST', body: Buffer.alloc(1000) });
      assert.equal(a.status, 200);
      assert.equal((JSON.parse(a.body) as { bodyBytes: number }).bodyBytes, 1000);
    });

    it('aborts the upstream attempt when a chunked body crosses the limit', async () => {
      const before = seen(up, '/small/chunked').length;
      const a = await new Promise<Answer>((resolve, reject) => {
        const { port } = new URL(gw.url);
        const req = http.request({ host: '127.0.0.1', port, path: '/small/chunked', method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => { body += c; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        let sent = 0;
        const pump = () => {
          if (sent >= 64 || req.destroyed) return req.end();
          sent++;
          req.write(Buffer.alloc(200));
          setTimeout(pump, 5);
        };
        pump();
      });
      assertGatewayError(a, 413, 'request_body_too_large');
      await until(() => seen(up, '/small/chunked').length > before && seen(up, '/small/chunked').every((r) => r.aborted), 2000, 'upstream attempt aborted');
      assert.ok(seen(up, '/small/chunked').every((r) => r.bodyBytes <= 1200), 'the upstream got at most the limit plus one chunk');
    });

    it('answers Expect: 100-continue with 413 before the client sends a body over the limit', async () => {
      const { socket, data } = await rawConnection(gw);
      socket.write('POST /small/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
      await until(() => data().includes('request_body_too_large'), 3000, '413 answer');
      assert.match(data(), /^HTTP\/1\.1 413 /);
      assert.doesNotMatch(data(), /100 Continue/);
      socket.destroy();
      assert.equal(seen(up, '/small/expect').length, 0);
    });

    it('answers Expect: 100-continue with 100 when admitted, then forwards', async () => {
      const { socket, data } = await rawConnection(gw);
      socket.write('POST /small/expect-ok HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
      await until(() => data().includes('100 Continue'), 3000, '100 Continue');
      socket.write('0123456789');
      await once(socket, 'close');
      assert.match(data(), /HTTP\/1\.1 200 /);
      const forwarded = seen(up, '/small/expect-ok');
      assert.equal(forwarded.length, 1, 'forwarded once');
      assert.equal(forwarded[0]!.headers.expect, undefined);
    });
  });

  describe('content-type-filter', () => {
    it('refuses a body with a media type not allowed with 415', async () => {
      const a = await request(gw.url, '/json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assertGatewayError(a, 415, 'unsupported_media_type');
      assert.equal(seen(up, '/json').length, 0);
    });

    it('admits allowed types, parameters and wildcards, and requests without a body', async () => {
      assert.equal((await request(gw.url, '/json', { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: '{}' })).status, 200);
      assert.equal((await request(gw.url, '/json', { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' })).status, 200);
      assert.equal((await request(gw.url, '/json')).status, 200);
    });
  });
});

describe('trusted proxies', () => {
  it('takes the client IP from X-Forwarded-For only when the peer is trusted, and appends the peer to the chain', async () => {
    const up = await startUpstream(echo('svc'));
    const routes = [{ name: 'all', match: { path: '/' }, upstream: 'svc', policies: [{ type: 'ip-filter', deny: ['203.0.113.0/24'] }] }];
    const untrusted = await startGateway({ upstreams: { svc: { targets: [{ url: up.url }] } }, routes });
    const trusted = await startGateway({ server: { trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] }, upstreams: { svc: { targets: [{ url: up.url }] } }, routes });
    try {
      const forged = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' };
      const a = await request(untrusted.url, '/x', { headers: forged });
      assert.equal(a.status, 200, 'a forged X-Forwarded-For from an untrusted peer changes nothing');
      const got = (JSON.parse(a.body) as { headers: Record<string, string> }).headers;
      assert.equal(got['x-forwarded-for'], '127.0.0.1');
      assert.equal(got['x-forwarded-proto'], 'http');
      assert.equal(got['x-forwarded-host'], new URL(untrusted.url).host, 'the client\'s Host, not the forged X-Forwarded-Host');
      assert.equal((await logLine(untrusted, String(a.headers['x-request-id']))).clientIp, '127.0.0.1');

      const upBefore = up.received.length;
      const b = await request(trusted.url, '/x', { headers: { 'x-forwarded-for': '203.0.113.9, 10.1.1.1', 'x-forwarded-proto': 'https' } });
      assertGatewayError(b, 403, 'ip_denied', 'behind trusted proxies the client is the first untrusted hop from the right');
      assert.equal(up.received.length, upBefore, 'the upstream received the denied request');
      const c = await request(trusted.url, '/x', { headers: { 'x-forwarded-for': '198.51.100.7, 10.1.1.1', 'x-forwarded-proto': 'https' } });
      assert.equal(c.status, 200);
      const forwarded = (JSON.parse(c.body) as { headers: Record<string, string> }).headers;
      assert.equal(forwarded['x-forwarded-for'], '198.51.100.7, 10.1.1.1, 127.0.0.1');
      assert.equal(forwarded['x-forwarded-proto'], 'https');
      assert.equal((await logLine(trusted, String(c.headers['x-request-id']))).clientIp, '198.51.100.7');
    } finally {
      await untrusted.close();
      await trusted.close();
      await up.close();
    }
  });
});

describe('server.maxConnections', () => {
  it('closes connections beyond the limit at once, while the ones within it are served', async () => {
    const up = await startUpstream(echo('svc'));
    const gw = await startGateway({ server: { maxConnections: 2 }, upstreams: { svc: { targets: [{ url: up.url }] } }, routes: [{ name: 'all', match: { path: '/' }, upstream: 'svc' }] });
    try {
      const held = [await rawConnection(gw), await rawConnection(gw)];
      for (const c of held) c.socket.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => held.every((c) => c.data().includes('HTTP/1.1 200')), 3000, 'the two allowed connections served');
      const extra = await rawConnection(gw);
      extra.socket.write('GET /extra HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(extra.socket, 'close', { signal: AbortSignal.timeout(3000) });
      assert.equal(extra.data(), '');
      assert.equal(seen(up, '/extra').length, 0);
      for (const c of held) c.socket.destroy();
    } finally {
      await gw.close();
      await up.close();
    }
  });
});
