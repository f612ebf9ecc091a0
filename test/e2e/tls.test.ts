/**
 * The HTTPS listener end to end, on real sockets with certificates generated at test time: HTTP/1.1 and
 * HTTP/2 (ALPN) on one port, both proxied with X-Forwarded-Proto https and HTTP/2's pseudo-headers kept from
 * the upstream; certificates picked by SNI; TLS 1.0/1.1 refused; certificate files replaced on disk while
 * serving (a broken replacement keeps the previous certificate); the HTTP redirect listener; HSTS; and
 * HTTP/2 sessions ended by shutdown.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { ConfigInput } from '../../src/config/schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { startInstance, type Instance } from '../../src/process/instance.ts';
import { get, poll, request, type RequestOptions } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawRequest } from '../helpers/raw-http.ts';
import { logLine, startGateway, tempDir, testConfig, type TestGateway } from '../helpers/start-gateway.ts';
import { createTestCa, handshake, type TestCa } from '../helpers/test-certs.ts';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

interface Echoed {
  readonly url: string;
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
}

const dir = tempDir('gatehouse-tls-listener-');
let ca: TestCa;
let upstream: FakeUpstream;
const gateways: TestGateway[] = [];
const instances: Instance[] = [];

const file = (name: string) => join(dir, name);
const portOf = (gateway: TestGateway) => gateway.instance.address.port;

function proxyConfig(tls: NonNullable<ConfigInput['listen']>['tls'], extra: Partial<ConfigInput> = {}) {
  return {
    ...extra,
    listen: { tls },
    upstreams: { app: { targets: [{ url: upstream.url }] } },
    routes: [{ name: 'app', match: { path: '/' }, upstream: 'app' }],
  };
}

async function gatewayWith(tls: NonNullable<ConfigInput['listen']>['tls'], extra: Partial<ConfigInput> = {}): Promise<TestGateway> {
  const gateway = await startGateway(proxyConfig(tls, extra));
  gateways.push(gateway);
  return gateway;
}

/** One HTTP/1.1 request over TLS on a fresh connection, verifying the server against the test CA. */
function h1(port: number, path: string, options: Omit<RequestOptions, 'ca'> = {}): Promise<Answer> {
  return request(`https://127.0.0.1:${port}`, path, { ...options, ca: ca.pem });
}

/** One HTTP/2 request on a fresh session (closed afterwards), verifying the server against the test CA. */
async function h2(port: number, headers: http2.OutgoingHttpHeaders, body?: string): Promise<Answer> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.pem });
  session.on('error', () => { /* surfaces through the request */ });
  try {
    const req = session.request(headers, { endStream: body === undefined });
    req.setTimeout(5000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    if (body !== undefined) req.end(body);
    const [responseHeaders] = await once(req, 'response') as [http2.IncomingHttpHeaders];
    let text = '';
    req.setEncoding('utf8');
    for await (const chunk of req) text += chunk as string;
    return { status: Number(responseHeaders[':status']), headers: responseHeaders, body: text };
  } finally {
    session.close();
  }
}

function echoed(answer: Answer): Echoed {
  assert.equal(answer.status, 200, `expected 200 from the upstream, got ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as Echoed;
}

before(async () => {
  ca = createTestCa(dir);
  ca.issue('default', 'default.test', ['default.test', '127.0.0.1']);
  ca.issue('api', 'api.test', ['api.test']);
  ca.issue('apps', '*.apps.test', ['*.apps.test']);
  upstream = await startUpstream(echo('tls-upstream'));
});

after(async () => {
  await Promise.all([...gateways.map((g) => g.close()), ...instances.map((i) => i.shutdown())]);
  await upstream.close();
});

describe('the HTTPS listener', () => {
  let gateway: TestGateway;
  let port: number;

  before(async () => {
    gateway = await gatewayWith({
      cert: file('default.pem'),
      key: file('default.key'),
      certificates: [
        { hosts: ['api.test'], cert: file('api.pem'), key: file('api.key') },
        { hosts: ['*.apps.test'], cert: file('apps.pem'), key: file('apps.key') },
      ],
      hsts: { maxAge: '365d', includeSubDomains: true },
      redirectHttp: { host: '127.0.0.1', port: 0 },
    }, { server: { maxHeaderSize: '4KiB', maxUrlLength: '1KiB' } });
    port = portOf(gateway);
  });

  it('proxies HTTP/1.1 over TLS with X-Forwarded-Proto https, replacing a client-sent one', async () => {
    const answer = await h1(port, '/one?x=1', { headers: { 'x-forwarded-proto': 'http' } });
    const seen = echoed(answer);
    assert.equal(seen.url, '/one?x=1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers.host, `127.0.0.1:${port}`);
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal(gateway.url, `https://127.0.0.1:${port}`);
  });

  it('serves HTTP/2 by ALPN, forwarding without pseudo-headers and with :authority as Host', async () => {
    const answer = await h2(port, { ':method': 'GET', ':path': '/two?y=2', 'x-custom': 'kept' });
    const seen = echoed(answer);
    assert.equal(seen.url, '/two?y=2');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.headers.host, `127.0.0.1:${port}`);
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-custom'], 'kept');
    const names = upstream.received.at(-1)!.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.deepEqual(names.filter((n) => n.startsWith(':')), [], 'no pseudo-header reaches the upstream');
    assert.equal(answer.headers['x-upstream'], 'tls-upstream');
    assert.match(String(answer.headers['x-request-id']), /\S/);
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    const line = await logLine(gateway, String(answer.headers['x-request-id']));
    assert.equal(line.status, 200);
    assert.equal(line.host, `127.0.0.1:${port}`);
  });

  it('forwards an HTTP/2 request body of declared length', async () => {
    const seen = echoed(await h2(port, { ':method': 'POST', ':path': '/upload', 'content-length': '5' }, 'hello'));
    assert.equal(seen.method, 'POST');
    assert.equal(seen.bodyBytes, 5);
  });

  it('forwards an HTTP/2 request body without a declared length', async () => {
    const seen = echoed(await h2(port, { ':method': 'POST', ':path': '/upload' }, 'hello'));
    assert.equal(seen.bodyBytes, 5);
  });

  it('multiplexes concurrent HTTP/2 streams on one session, more than the 128 it allows at once', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.pem });
    session.on('error', () => { /* surfaces through the requests */ });
    try {
      const urls = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const req = session.request({ ':path': `/mux/${i}` });
        req.setTimeout(5000, () => req.close(http2.constants.NGHTTP2_CANCEL));
        let text = '';
        req.setEncoding('utf8');
        for await (const chunk of req) text += chunk as string;
        return (JSON.parse(text) as Echoed).url;
      }));
      assert.deepEqual(urls, Array.from({ length: 200 }, (_, i) => `/mux/${i}`));
    } finally {
      session.close();
    }
  });

  it('refuses an HTTP/2 CONNECT with the JSON 400 bad_path, as an HTTP/1.1 one', async () => {
    const answer = await h2(port, { ':method': 'CONNECT', ':authority': 'elsewhere.test:443' });
    assertGatewayError(answer, 400, 'bad_path', 'HTTP/2 CONNECT');
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    const line = await logLine(gateway, String(answer.headers['x-request-id']));
    assert.equal(line.method, 'CONNECT');
    assert.equal(line.reason, 'bad_path');
  });

  it('offers h2 and http/1.1 on the same port', async () => {
    assert.equal((await handshake(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'h2');
    assert.equal((await handshake(port, { ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
  });

  it('applies the server stage limits to HTTP/2 requests, with HSTS on the refusal', async () => {
    const tooLong = await h2(port, { ':path': `/${'u'.repeat(1500)}` });
    assertGatewayError(tooLong, 414, 'uri_too_long', 'HTTP/2 long path');
    assert.equal(tooLong.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    const tooBig = await h2(port, { ':path': '/', 'x-big': 'b'.repeat(4200) });
    assertGatewayError(tooBig, 431, 'headers_too_large', 'HTTP/2 big header');
  });

  it('picks the certificate by SNI: exact name, one-label wildcard, else the default', async () => {
    const cn = async (servername?: string) => (await handshake(port, servername === undefined ? {} : { servername })).commonName;
    assert.equal(await cn('api.test'), 'api.test');
    assert.equal(await cn('API.Test'), 'api.test');
    assert.equal(await cn('one.apps.test'), '*.apps.test');
    assert.equal(await cn('a.b.apps.test'), 'default.test');
    assert.equal(await cn('apps.test'), 'default.test');
    assert.equal(await cn('unknown.test'), 'default.test');
    assert.equal(await cn(), 'default.test');
    // Verified against the CA, and with HTTP/2 negotiated on an SNI certificate too.
    const verified = await handshake(port, { servername: 'api.test', ca: ca.pem, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
    assert.deepEqual([verified.commonName, verified.alpn], ['api.test', 'h2']);
  });

  it('refuses TLS 1.0 and 1.1 clients with a protocol_version alert, and accepts TLS 1.2', async () => {
    // SECLEVEL=0 lets this client's OpenSSL offer the old versions at all, so the refusal is the server's.
    for (const maxVersion of ['TLSv1', 'TLSv1.1'] as const) {
      await assert.rejects(handshake(port, { minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' }),
        (error: NodeJS.ErrnoException) => error.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    }
    assert.equal((await handshake(port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
  });

  it('drops a client that speaks plain HTTP to the TLS port and keeps serving', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => { /* a reset is fine too */ });
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.resume();
    const timer = setTimeout(() => socket.destroy(new Error('not closed within 5 s')), 5000);
    await once(socket, 'close');
    clearTimeout(timer);
    echoed(await h1(port, '/still-serving'));
  });

  it('redirects plain HTTP with 308 to the same host, path and query on the HTTPS port', async () => {
    const redirectPort = gateway.instance.redirectAddress!.port;
    const answer = await get(`http://127.0.0.1:${redirectPort}/a/b?c=d&e`, { host: 'Shop.Test:8080' });
    assertGatewayError(answer, 308, 'https_redirect', 'redirect');
    assert.equal(answer.headers.location, `https://shop.test:${port}/a/b?c=d&e`);
    assert.equal(answer.headers['strict-transport-security'], undefined, 'HSTS is only sent over HTTPS');
  });

  it('answers 400 on the redirect listener when the Host is missing or malformed', async () => {
    const redirectPort = gateway.instance.redirectAddress!.port;
    for (const head of ['GET /x HTTP/1.0\r\n\r\n', 'GET /x HTTP/1.1\r\nhost: evil.test/x\r\n\r\n', 'GET /x HTTP/1.1\r\nhost: a b\r\n\r\n']) {
      const r = await rawRequest(redirectPort, [head.replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n')]);
      assertGatewayError(r, 400, 'bad_request', JSON.stringify(head));
      assert.equal(r.headers.location, undefined, JSON.stringify(head));
    }
  });
});

describe('WebSocket over the HTTPS listener', () => {
  it('upgrades HTTP/1.1-over-TLS connections on the HTTP/2-capable port, with X-Forwarded-Proto https', async () => {
    const wsUpstream = await startUpstream();
    const wss = new WebSocketServer({ server: wsUpstream.server });
    const seen: http.IncomingHttpHeaders[] = [];
    wss.on('connection', (socket, req) => {
      seen.push(req.headers);
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    try {
      const gateway = await startGateway({
        listen: { tls: { cert: file('default.pem'), key: file('default.key') } },
        upstreams: { ws: { targets: [{ url: wsUpstream.url }] } },
        routes: [{ name: 'ws', match: { path: '/ws' }, upstream: 'ws' }],
      });
      gateways.push(gateway);
      const ws = new WebSocket(`wss://127.0.0.1:${portOf(gateway)}/ws`, { ca: ca.pem, handshakeTimeout: 5000 });
      await once(ws, 'open', { signal: AbortSignal.timeout(5000) });
      ws.send('over tls');
      const [data] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer];
      assert.equal(data.toString(), 'over tls');
      assert.equal(seen[0]!['x-forwarded-proto'], 'https');
      ws.close();
      await once(ws, 'close', { signal: AbortSignal.timeout(5000) });
    } finally {
      wss.close();
      await wsUpstream.close();
    }
  });
});

describe('the HTTPS listener with http2: false and no HSTS', () => {
  it('serves HTTP/1.1 only, without Strict-Transport-Security', async () => {
    const gateway = await gatewayWith({ cert: file('default.pem'), key: file('default.key'), http2: false });
    const port = portOf(gateway);
    // The server offers http/1.1 alone (Node's HTTPS default): chosen when offered, a client that wants only h2 refused.
    assert.equal((await handshake(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'http/1.1');
    await assert.rejects(handshake(port, { ALPNProtocols: ['h2'] }),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    const answer = await h1(port, '/plain-tls');
    assert.equal(echoed(answer).headers['x-forwarded-proto'], 'https');
    assert.equal(answer.headers['strict-transport-security'], undefined);
  });
});

describe('listen.tls.minVersion', () => {
  it('refuses TLS 1.2 clients when set to TLSv1.3', async () => {
    const gateway = await gatewayWith({ cert: file('default.pem'), key: file('default.key'), minVersion: 'TLSv1.3' });
    await assert.rejects(handshake(portOf(gateway), { maxVersion: 'TLSv1.2' }),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.equal((await handshake(portOf(gateway))).protocol, 'TLSv1.3');
  });

  it('does not accept TLS 1.0 or 1.1 in the config', () => {
    for (const minVersion of ['TLSv1', 'TLSv1.1']) {
      const config = proxyConfig({ cert: file('default.pem'), key: file('default.key') });
      const result = configSchema.safeParse({ ...config, listen: { tls: { ...config.listen.tls, minVersion } } });
      assert.equal(result.success, false);
      assert.deepEqual(result.error!.issues[0]!.path, ['listen', 'tls', 'minVersion']);
    }
  });
});

describe('certificate files replaced on disk', () => {
  it('serves a replaced certificate to new handshakes; a broken replacement keeps the previous one', async () => {
    const files = ca.issue('reload', 'first.test', ['127.0.0.1']);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(line); } });
    const instance = await startInstance(testConfig(proxyConfig({ cert: files.cert, key: files.key })), log);
    instances.push(instance);
    const port = instance.address.port;
    const served = async () => (await handshake(port)).commonName;
    assert.equal(await served(), 'first.test');

    ca.issue('reload', 'second.test', ['127.0.0.1']);
    await poll(async () => (await served() === 'second.test' ? true : undefined), 'the replaced certificate', 10_000, 50);

    const broken = join(dir, '.broken.tmp');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    renameSync(broken, files.cert);
    await poll(async () => (lines.some((l) => l.includes('TLS certificate reload failed')) ? true : undefined), 'the reload error log line', 10_000, 50);
    assert.equal(await served(), 'second.test', 'the previous certificate keeps serving');
    assert.ok(lines.some((l) => l.includes(files.cert) && /"level":50/.test(l)), 'logged as an error naming the file');

    ca.issue('reload', 'third.test', ['127.0.0.1']);
    await poll(async () => (await served() === 'third.test' ? true : undefined), 'the repaired certificate', 10_000, 50);
  });

  it('follows a Kubernetes-style secret update (the ..data symlink swapped to a new directory)', async () => {
    const secret = join(dir, 'secret');
    mkdirSync(secret);
    for (const [version, cn] of [['v1', 'k8s-one.test'], ['v2', 'k8s-two.test']] as const) {
      const files = ca.issue(`k8s-${version}`, cn, ['127.0.0.1']);
      mkdirSync(join(secret, version));
      renameSync(files.cert, join(secret, version, 'tls.crt'));
      renameSync(files.key, join(secret, version, 'tls.key'));
    }
    symlinkSync('v1', join(secret, '..data'));
    symlinkSync(join('..data', 'tls.crt'), join(secret, 'tls.crt'));
    symlinkSync(join('..data', 'tls.key'), join(secret, 'tls.key'));
    const gateway = await startGateway(proxyConfig({ cert: join(secret, 'tls.crt'), key: join(secret, 'tls.key') }));
    gateways.push(gateway);
    assert.equal((await handshake(portOf(gateway))).commonName, 'k8s-one.test');
    symlinkSync('v2', join(secret, '..data_tmp'));
    renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
    await poll(async () => ((await handshake(portOf(gateway))).commonName === 'k8s-two.test' ? true : undefined), 'the swapped secret', 10_000, 50);
  });

  it('refuses to start when a certificate cannot be used, naming the files', async () => {
    await assert.rejects(startInstance(testConfig(proxyConfig({ cert: file('default.pem'), key: file('api.key') }))),
      (error: Error & { code?: string }) => error.code === 'GW_ERR_STARTUP' && error.message.includes(file('api.key')));
  });
});

describe('startup failures', () => {
  it('fails when the redirect port is taken, releasing the HTTPS listener and the certificate watcher', async () => {
    const taken = net.createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as net.AddressInfo;
    try {
      const config = testConfig(proxyConfig({ cert: file('default.pem'), key: file('default.key'), redirectHttp: { host: '127.0.0.1', port } }));
      await assert.rejects(startInstance(config), (error: NodeJS.ErrnoException) => error.code === 'GW_ERR_LISTEN'
        && error.message === `redirect listener cannot bind 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`);
    } finally {
      taken.close();
    }
  });
});

describe('shutdown with HTTP/2 sessions open', () => {
  it('ends idle HTTP/2 sessions and finishes within the drain', async () => {
    const gateway = await startGateway(proxyConfig({ cert: file('default.pem'), key: file('default.key') }, { server: { drainTimeout: '5s' } }));
    const session = http2.connect(gateway.url, { ca: ca.pem });
    session.on('error', () => { /* the session may be reset as the server goes */ });
    const req = session.request({ ':path': '/before-shutdown' });
    req.resume();
    await once(req, 'end');
    const closed = once(session, 'close');
    const started = performance.now();
    await gateway.close();
    const timer = setTimeout(() => session.destroy(), 5000);
    await closed;
    clearTimeout(timer);
    assert.ok(performance.now() - started < 4000, 'the idle session did not hold shutdown until the drain timeout');
  });
});
