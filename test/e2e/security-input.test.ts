/**
 * Hostile input at the server level, on real sockets: unsafe paths, attempts to reach a route through a
 * spelling the router does not see as that route, oversized heads, slow heads, and forged forwarding
 * headers. Every refusal is checked for its exact status and reason, the JSON error body and X-Request-ID,
 * and that the upstream received nothing. Requests go over raw sockets so the test controls every byte.
 * (Request smuggling: security-smuggling.test.ts; random input: security-fuzz.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.ts';
import { normalizePath } from '../../src/server/normalize-path.ts';
import { echo, startUpstream, type FakeUpstream, type Received } from '../helpers/fake-upstream.ts';
import { assertGatewayError, get, rawExchange, rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

interface Echoed {
  readonly upstream: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function echoed(r: RawResponse, what: string): Echoed {
  assert.equal(r.status, 200, `${what}: expected the upstream's 200, got ${r.statusLine} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as Echoed;
}

interface Served {
  upstream: FakeUpstream;
  gateway: TestGateway;
  port: number;
}

/**
 * For the enclosing describe: an echo upstream behind a gateway with one catch-all route (and `server`
 * settings, if given), started before its tests and closed after them. The fields are set once before() ran.
 */
function servedByEcho(server?: ConfigInput['server']): Served {
  const served = {} as Served;
  before(async () => {
    served.upstream = await startUpstream(echo('up'));
    served.gateway = await startGateway({
      ...(server ? { server } : {}),
      upstreams: { up: { targets: [{ url: served.upstream.url }] } },
      routes: [{ name: 'all', match: { path: '/' }, upstream: 'up' }],
    });
    served.port = served.gateway.instance.address.port;
  });
  after(async () => {
    await served.gateway?.close();
    await served.upstream?.close();
  });
  return served;
}

const urls = (u: FakeUpstream) => u.received.map((r) => r.url).join(', ');

describe('path safety: unsafe request targets are refused with 400 bad_path', () => {
  const served = servedByEcho();

  // What normalize-path.ts documents as refused: dot segments (raw or encoded), encoded / \ and NUL, raw
  // backslash, double encoding (also when assembled from encoded pieces), malformed escapes.
  const refused = [
    // dot segments, raw
    '/../x', '/a/../../x', '/a/..', '/a/../', '/.', '/./x', '/a/.', '/a/./b', '/..', '/x/..?q=1',
    // dot segments, encoded in every mix of case and half-encoding
    '/%2e%2e/x', '/%2E%2E/x', '/%2e%2E/x', '/.%2e/x', '/%2e./x', '/a/%2e', '/a/%2E/b', '/a/%2e%2e', '/a/%2e%2e/',
    // encoded separators
    '/a/%2f/b', '/a%2Fb', '/a%2fb', '/%2F', '/%2f..%2fx', '/a%5cb', '/a%5C', '/%5c..%5cx',
    // backslash, raw
    '/a\\b', '/\\x', '/a\\..\\b',
    // NUL, encoded
    '/%00', '/a%00b', '/x%00.json',
    // double encoding, sent as such
    '/%252e%252e/x', '/%252E', '/x/%252f', '/%255c', '/%2500', '/%2561',
    // double encoding assembled from encoded pieces: %25 %32 %65 decodes to %2e
    '/%25%32%65', '/%25%32%65%25%32%65/x', '/%25%32%66', '/%25%35%63', '/%25%30%30',
    // malformed escapes
    '/%', '/%2', '/%zz', '/a%g0', '/a%%2e',
  ];

  it('refuses every traversal and encoding variant, logs bad_path, and forwards nothing', async () => {
    for (const path of refused) {
      const r = await rawRequest(served.port, [get(path)]);
      const body = assertGatewayError(r, 400, 'bad_path', path);
      const line = await logLine(served.gateway, body.error.requestId);
      assert.equal(line.status, 400, path);
      assert.equal(line.reason, 'bad_path', path);
    }
    assert.equal(served.upstream.received.length, 0, `the upstream received ${urls(served.upstream)}`);
  });

  it('refuses absolute-form and asterisk-form targets (not origin form) with 400 bad_path', async () => {
    for (const line of ['GET http://evil/x HTTP/1.1', 'GET http://127.0.0.1/x HTTP/1.1', 'GET https://evil:443/%2e%2e/ HTTP/1.1', 'OPTIONS * HTTP/1.1']) {
      const r = await rawRequest(served.port, [`${line}\r\nHost: gw.test\r\nConnection: close\r\n\r\n`]);
      assertGatewayError(r, 400, 'bad_path', line);
    }
    assert.equal(served.upstream.received.length, 0, `the upstream received ${urls(served.upstream)}`);
  });

  it('refuses unsafe paths on upgrade (WebSocket) requests too', async () => {
    for (const target of ['/../x', '/%2e%2e/x', '/a%2fb', '/%25%32%65', 'http://evil/x']) {
      const r = await rawRequest(served.port, [`GET ${target} HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n']);
      assertGatewayError(r, 400, 'bad_path', `upgrade ${target}`);
    }
    assert.equal(served.upstream.received.length, 0, `the upstream received ${urls(served.upstream)}`);
  });

  it('refuses a raw NUL in the target as malformed HTTP (400 bad_request, from the parser)', async () => {
    const r = await rawRequest(served.port, ['GET /a\0b HTTP/1.1\r\nHost: gw.test\r\n\r\n']);
    assertGatewayError(r, 400, 'bad_request', 'raw NUL');
    assert.equal(served.upstream.received.length, 0);
  });

  it('forwards names that only look like dot segments, and the query, unchanged', async () => {
    const before = served.upstream.received.length;
    const kept = ['/..foo', '/.well-known/x', '/a./b', '/a..b/', '/.../x', '/x/.hidden', '/100%25off', '/x?a=/../b&c=%2e%2e&d=%2f'];
    for (const target of kept) {
      assert.equal(echoed(await rawRequest(served.port, [get(target)]), target).url, target, 'forwarded unchanged');
    }
    assert.deepEqual(served.upstream.received.slice(before).map((r) => r.url), kept);
  });

  it('forwards the normalised form: duplicate slashes collapsed, unreserved escapes decoded, others upper-cased', async () => {
    for (const [sent, forwarded] of [['//a//b', '/a/b'], ['/%7euser/%41', '/~user/A'], ['/a%20b/%c3%a9', '/a%20b/%C3%A9'], ['/%2D%2e%5F', '/-._']]) {
      assert.equal(echoed(await rawRequest(served.port, [get(sent!)]), sent!).url, forwarded, sent);
    }
  });
});

describe('route selection cannot be bypassed by another spelling of the path', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let gateway: TestGateway;
  let port: number;

  before(async () => {
    [a, b] = await Promise.all([startUpstream(echo('A')), startUpstream(echo('B'))]);
    gateway = await startGateway({
      upstreams: { a: { targets: [{ url: a.url }] }, b: { targets: [{ url: b.url }] } },
      routes: [
        { name: 'admin', match: { path: '/admin' }, upstream: 'a' },
        { name: 'catch-all', match: { path: '/' }, upstream: 'b' },
      ],
    });
    port = gateway.instance.address.port;
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([a, b].map((u) => u?.close()));
  });

  /** True when `url` (as an upstream received it) is /admin or below it once normalised. */
  const isAdmin = (url: string) => {
    const path = normalizePath(url.split('?')[0]!);
    return path !== undefined && (path === '/admin' || path.startsWith('/admin/'));
  };

  it('routes every equivalent spelling of /admin to the admin route', async () => {
    const variants: Array<[sent: string, forwarded: string]> = [
      ['/admin', '/admin'], ['/admin/', '/admin/'], ['/admin/x', '/admin/x'], ['//admin', '/admin'], ['/admin//x', '/admin/x'],
      ['///admin///x//', '/admin/x/'], ['/%61dmin', '/admin'], ['/%61%64%6D%69%6E/x', '/admin/x'], ['/adm%69n?x=1', '/admin?x=1'],
      ['//%61dmin//', '/admin/'], ['/admin?next=/../../x', '/admin?next=/../../x'],
    ];
    for (const [sent, forwarded] of variants) {
      const e = echoed(await rawRequest(port, [get(sent)]), sent);
      assert.equal(e.upstream, 'A', `${sent} went to ${e.upstream}`);
      assert.equal(e.url, forwarded, sent);
    }
  });

  it('refuses spellings that could mean /admin to some hop but not to the router with 400 bad_path', async () => {
    const aBefore = a.received.length;
    const bBefore = b.received.length;
    for (const sent of [
      '/admin%2f', '/admin%2F', '/admin%2fx', '/%2fadmin', '/%2Fadmin', '/x/../admin', '/x/%2e%2e/admin', '/x/.%2e/admin', '/./admin',
      '/admin/..', '/admin/../admin', '/x%5c..%5cadmin', '/\\admin', '/x\\..\\admin', '/%2561dmin', '/%25%36%31dmin', '/admin/%2e',
    ]) {
      assertGatewayError(await rawRequest(port, [get(sent)]), 400, 'bad_path', sent);
    }
    assert.equal(a.received.length, aBefore, `A received ${urls(a)}`);
    assert.equal(b.received.length, bBefore, `B received ${urls(b)}`);
  });

  it('sends other paths to the catch-all exactly as routed, never a path that normalises to /admin', async () => {
    const variants: Array<[sent: string, forwarded: string]> = [
      // A prefix matches at segment boundaries: /adminx is another path, and the catch-all's (not a bypass).
      ['/adminx', '/adminx'], ['/admin.json', '/admin.json'], ['/x/admin', '/x/admin'],
      // Path matching is case-sensitive (RFC 3986; normalize-path.ts, router.ts): /ADMIN is a different path,
      // by design. It reaches B as /ADMIN, unchanged, so a case-sensitive B cannot be led to serve /admin.
      ['/ADMIN', '/ADMIN'], ['/Admin/x', '/Admin/x'], ['/%41DMIN', '/ADMIN'],
      // Reserved characters stay what they are: `;`, an encoded `?` or `#` are part of the segment (RFC 3986).
      ['/admin;x', '/admin;x'], ['/admin%3Fx', '/admin%3Fx'], ['/admin%23', '/admin%23'], ['/admin%20', '/admin%20'],
    ];
    for (const [sent, forwarded] of variants) {
      const e = echoed(await rawRequest(port, [get(sent)]), sent);
      assert.equal(e.upstream, 'B', `${sent} went to ${e.upstream}`);
      assert.equal(e.url, forwarded, sent);
    }
    const leaked = b.received.filter((r) => isAdmin(r.url));
    assert.deepEqual(leaked.map((r) => r.url), [], 'B received a path that normalises to /admin');
  });

  it('refuses a path whose escaped bytes are not UTF-8 with 400 bad_path, on every route', async () => {
    for (const path of ['/admin/%C3', '/files/%FF', '/x/%E2%82', '/%C0%AF']) {
      assertGatewayError(await rawRequest(port, [get(path)]), 400, 'bad_path', path);
    }
    assert.equal(echoed(await rawRequest(port, [get('/files/%C3%A9')]), '/files/%C3%A9').upstream, 'B', 'valid UTF-8 escapes are routed');
  });
});

describe('request head limits and slow heads', () => {
  const served = servedByEcho({ maxHeaderSize: '4KiB', maxUrlLength: '1KiB', headersTimeout: '2s' });

  it('answers a request head over maxHeaderSize with 431 headers_too_large', async () => {
    const cases: Array<[string, ReadonlyArray<string>]> = [
      ['one big header', [`GET /a HTTP/1.1\r\nHost: gw.test\r\nX-Big: ${'b'.repeat(4096)}\r\n\r\n`]],
      ['many small headers', [`GET /a HTTP/1.1\r\nHost: gw.test\r\n${Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('')}\r\n`]],
      ['a huge header', [`GET /a HTTP/1.1\r\nHost: gw.test\r\nCookie: ${'c'.repeat(256 * 1024)}\r\n\r\n`]],
    ];
    for (const [what, parts] of cases) {
      const body = assertGatewayError(await rawRequest(served.port, parts), 431, 'headers_too_large', what);
      assert.equal((await logLine(served.gateway, body.error.requestId)).reason, 'headers_too_large', what);
    }
    assert.equal(served.upstream.received.length, 0, `the upstream received ${urls(served.upstream)}`);
  });

  it('answers a request target over maxUrlLength with 414 uri_too_long, the query counting too', async () => {
    const long = `/${'u'.repeat(2048)}`;
    const cases: Array<[string, ReadonlyArray<string>, number?]> = [
      ['long path', [get(long)]],
      ['long query', [get(`/a?q=${'q'.repeat(1100)}`)]],
      ['just over the limit', [get(`/${'u'.repeat(1024)}`)]],
      ['giant path', [get(`/${'g'.repeat(128 * 1024)}`)]],
      ['long path in four packets', [0, 1, 2, 3].map((i) => get(long).slice(i * 600, i === 3 ? undefined : (i + 1) * 600)), 10],
    ];
    for (const [what, parts, gapMs] of cases) {
      const body = assertGatewayError(await rawRequest(served.port, parts, { gapMs: gapMs ?? 0 }), 414, 'uri_too_long', what);
      assert.equal((await logLine(served.gateway, body.error.requestId)).reason, 'uri_too_long', what);
    }
    assert.equal(served.upstream.received.length, 0, `the upstream received ${urls(served.upstream)}`);
    // The limit is inclusive: a target of exactly maxUrlLength is served.
    const exact = `/${'u'.repeat(1023)}`;
    assert.equal(echoed(await rawRequest(served.port, [get(exact)]), 'exact').url, exact);
  });

  it('answers a head trickled one byte a second (slowloris) with 408 request_timeout after headersTimeout, not before', async () => {
    const received = served.upstream.received.length;
    const trickle = ['G', 'E', 'T', ' ', '/', 's'];
    // Also on a kept-alive connection, after a first complete request: the timeout applies to every head.
    const first = get('/first').replace('Connection: close', 'Connection: keep-alive');
    const keptParts = [first, ...trickle];
    const [fresh, kept] = await Promise.all([
      rawExchange(served.port, trickle, { gapMs: 1000, timeoutMs: 6500, responses: 1 }),
      rawExchange(served.port, keptParts, { gapMs: 1000, timeoutMs: 7500, responses: 2 }),
    ]);
    for (const [what, r, parts, expected, offset] of [['fresh connection', fresh, trickle, 1, 0], ['kept-alive connection', kept, keptParts, 2, 1000]] as const) {
      assert.equal(r.responses.length, expected, `${what}: ${r.bytes.toString('latin1').slice(0, 300)}`);
      assertGatewayError(r.responses[expected - 1]!, 408, 'request_timeout', what);
      // Measured from the client's connect (the server's clock starts at or after it) or, kept alive, from
      // the first trickled byte a second later; Node checks timeouts every headersTimeout/4 (500 ms here).
      const elapsed = r.elapsedMs - offset;
      assert.ok(elapsed >= 2000 - 5, `${what}: answered after ${elapsed.toFixed(0)} ms, before the 2 s headersTimeout`);
      assert.ok(elapsed < 3500, `${what}: answered after ${elapsed.toFixed(0)} ms`);
      assert.ok(r.partsWritten < parts.length, `${what}: the client got to write all its bytes`);
    }
    assert.equal(echoed(kept.responses[0]!, 'first').url, '/first');
    assert.deepEqual(served.upstream.received.slice(received).map((r) => r.url), ['/first'], 'the slow heads reached nothing');
  });
});

describe('forged forwarding headers from an untrusted peer', () => {
  // No trustedProxies: 127.0.0.1 is an ordinary client, whatever it claims.
  const served = servedByEcho();

  /**
   * Sends a GET for `path` with the header lines `headers`, expects the upstream's 200 for it, and returns
   * the upstream's copy of the request, the values it received for a header name (every copy, in order),
   * and the gateway's request ID.
   */
  async function forward(path: string, headers: string): Promise<{ seen: Received; valuesOf: (name: string) => string[]; requestId: string }> {
    const r = await rawRequest(served.port, [`GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${headers}\r\n`]);
    echoed(r, path);
    const seen = served.upstream.received.at(-1)!;
    assert.equal(seen.url, path);
    const raw = seen.rawHeaders;
    const valuesOf = (name: string) => raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1]!] : []));
    return { seen, valuesOf, requestId: r.headers['x-request-id']! };
  }

  it('replaces X-Forwarded-For, drops X-Real-IP and Forwarded, and logs the socket peer as the client IP', async () => {
    const { valuesOf, requestId } = await forward('/whoami', 'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7, 8.8.8.8\r\nX-Real-IP: 6.6.6.6\r\n' +
      'Forwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n');
    assert.deepEqual(valuesOf('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(valuesOf('x-real-ip'), []);
    assert.deepEqual(valuesOf('forwarded'), []);
    assert.deepEqual(valuesOf('x-forwarded-proto'), ['http']);
    assert.deepEqual(valuesOf('x-forwarded-host'), ['gw.test']);
    assert.equal((await logLine(served.gateway, requestId)).clientIp, '127.0.0.1');
  });

  it('keeps X-Forwarded-For and X-Request-ID when the client names them in Connection', async () => {
    const { valuesOf, requestId } = await forward('/hop', 'X-Forwarded-For: 6.6.6.6\r\nX-Request-ID: client-rid-7\r\n' +
      'Connection: close, x-forwarded-for, x-request-id, X-Forwarded-Proto, via\r\n');
    assert.deepEqual(valuesOf('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(valuesOf('x-forwarded-proto'), ['http']);
    assert.deepEqual(valuesOf('via'), ['1.1 gatehouse']);
    assert.deepEqual(valuesOf('x-request-id'), [requestId]);
    assert.equal((await logLine(served.gateway, requestId)).clientIp, '127.0.0.1');
  });

  it('drops underscore spellings of the forwarding headers, which CGI/WSGI servers read as the real ones', async () => {
    const { seen } = await forward('/underscore', 'X_Forwarded_For: 6.6.6.6\r\nX-Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nConnection: close\r\n');
    const spoofed = seen.rawHeaders.filter((_v, i) => i % 2 === 0).filter((name) => /^x[-_](forwarded|real)[-_]/i.test(name) && name.includes('_'));
    assert.deepEqual(spoofed, []);
  });
});

describe('requests Node\'s server would answer on its own', () => {
  const served = servedByEcho();

  it('answers an HTTP/1.1 request without Host with the JSON 400, logged', async () => {
    const body = assertGatewayError(await rawRequest(served.port, ['GET /no-host HTTP/1.1\r\nConnection: close\r\n\r\n']), 400, 'bad_request', 'no Host');
    assert.equal((await logLine(served.gateway, body.error.requestId)).reason, 'bad_request');
    assert.equal(served.upstream.received.length, 0);
  });

  it('answers CONNECT with the JSON error instead of closing the connection', async () => {
    for (const line of ['CONNECT evil.example:443 HTTP/1.1', 'CONNECT /x HTTP/1.1']) {
      assertGatewayError(await rawRequest(served.port, [`${line}\r\nHost: evil.example:443\r\n\r\n`]), 400, 'bad_path', line);
    }
    assert.equal(served.upstream.received.length, 0);
  });

  it('refuses a request with two Host headers (RFC 9112 §3.2: MUST answer 400)', async () => {
    const r = await rawRequest(served.port, [get('/two-hosts', 'Host: other.test\r\n')]);
    assertGatewayError(r, 400, 'bad_request', 'two Host headers');
    assert.equal(served.upstream.received.length, 0);
  });

  it('answers an unknown Expect with the gateway\'s JSON error and X-Request-ID, logged', async () => {
    const r = await rawRequest(served.port, ['PUT /x HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-condinue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd']);
    const body = assertGatewayError(r, 417, 'expectation_failed', 'unknown Expect');
    assert.equal((await logLine(served.gateway, body.error.requestId)).reason, 'expectation_failed');
    assert.equal(served.upstream.received.length, 0);
  });
});
