/**
 * Request smuggling, on raw sockets: every ambiguous or malformed message framing (Content-Length with
 * Transfer-Encoding, conflicting lengths, obs-fold, bad chunk sizes, unknown codings) is refused by Node's
 * parser and answered by the gateway with 400 bad_request, and the connection is closed, so no byte after it
 * can be read as a second request. The upstream records every path it receives: the smuggled request, which
 * targets a path the gateway does not route, must never appear there.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { echo, startUpstream, until, type FakeUpstream, type UpstreamHandler } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawExchange, type ExchangeResult } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

/** A path no route takes: if the gateway parses a request for it, it answers 404 itself. */
const SMUGGLED_PATH = '/internal/secret';
const SMUGGLED = `GET ${SMUGGLED_PATH} HTTP/1.1\r\nHost: gw.test\r\n\r\n`;
const HEAD = 'POST /api/p HTTP/1.1\r\nHost: gw.test\r\n';

/** How a request head can end: CRLF CRLF, or bare LF LF. */
const HEAD_ENDS = ['\r\n\r\n', '\n\n'];

/** [what, request bytes]: each must be refused as a whole. */
const malformed: Array<[string, string]> = [
  ['CL.TE: Content-Length and Transfer-Encoding: chunked', `${HEAD}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.CL: Transfer-Encoding: chunked and Content-Length', `${HEAD}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${(SMUGGLED.length).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['CL.CL: two Content-Length values', `${HEAD}Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['CL.CL: two equal Content-Length headers', `${HEAD}Content-Length: ${SMUGGLED.length}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['Content-Length list', `${HEAD}Content-Length: 0, ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['Content-Length: +N', `${HEAD}Content-Length: +${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['Content-Length: -1', `${HEAD}Content-Length: -1\r\n\r\n${SMUGGLED}`],
  ['Content-Length in hex', `${HEAD}Content-Length: 0x10\r\n\r\n${SMUGGLED}`],
  ['space before the colon: Content-Length :', `${HEAD}Content-Length : 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding by obs-fold', `${HEAD}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding hidden in an obs-folded header', `${HEAD}X-Note: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding with a space before the colon', `${HEAD}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: xchunked', `${HEAD}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: chunked, identity', `${HEAD}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: identity', `${HEAD}Transfer-Encoding: identity\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: chunked twice', `${HEAD}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['invalid chunk size zz', `${HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['chunk size overflow', `${HEAD}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['negative chunk size', `${HEAD}Transfer-Encoding: chunked\r\n\r\n-1\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['NUL in a chunk extension', `${HEAD}Transfer-Encoding: chunked\r\n\r\n0;\0\r\n\r\n${SMUGGLED}`],
  ['bare LF line endings', `POST /api/p HTTP/1.1\nHost: gw.test\nTransfer-Encoding: chunked\n\n0\n\n${SMUGGLED}`],
  ['bare CR inside a header value', `${HEAD}X-Note: a\rContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
];

describe('request smuggling', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let port: number;
  // Switched per test: the default echoes after reading the body; "early" answers before it.
  let handler: UpstreamHandler = echo('up');

  before(async () => {
    upstream = await startUpstream((req, res, received) => handler(req, res, received));
    gateway = await startGateway({
      upstreams: { up: { targets: [{ url: upstream.url }] } },
      routes: [{ name: 'api', match: { path: '/api' }, upstream: 'up' }],
    });
    port = gateway.instance.address.port;
  });

  beforeEach(() => {
    handler = echo('up');
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const paths = () => upstream.received.map((r) => r.url);

  /** Exactly one response, the gateway's 400 bad_request, then the connection closed. */
  function assertRefused(r: ExchangeResult, what: string): void {
    const got = JSON.stringify(r.bytes.toString('latin1').slice(0, 400));
    assert.ok(r.closed, `${what}: the connection stayed open; got ${got}`);
    assert.equal(r.malformed, undefined, `${what}: ${r.malformed}; got ${got}`);
    assert.equal(r.rest.length, 0, `${what}: bytes after the response; got ${got}`);
    assert.equal(r.responses.length, 1, `${what}: ${r.responses.length} responses; got ${got}`);
    assertGatewayError(r.responses[0]!, 400, 'bad_request', what);
    assert.equal(r.responses[0]!.headers.connection, 'close', what);
  }

  it('refuses every ambiguous or malformed framing with 400 bad_request, closes, and forwards nothing', async () => {
    for (const [what, bytes] of malformed) {
      // All in one write, and split after the head, so the framing error can also arrive in a later packet.
      // The head ends at its first terminator, CRLF or bare LF (a later one may be the smuggled request's).
      const split = Math.min(...HEAD_ENDS.map((end) => {
        const at = bytes.indexOf(end);
        return at === -1 ? Infinity : at + end.length;
      }));
      assert.ok(split <= bytes.indexOf(SMUGGLED), `${what}: the split at ${split} is not between the first head and the smuggled request`);
      for (const parts of [[bytes], [bytes.slice(0, split), bytes.slice(split)]]) {
        const r = await rawExchange(port, parts, { gapMs: 20, timeoutMs: 3000 });
        assertRefused(r, `${what} (${parts.length} packet${parts.length > 1 ? 's' : ''})`);
      }
    }
    assert.deepEqual(paths(), [], 'the upstream received requests');
  });

  it('logs the refusal under the request ID it answered with', async () => {
    const r = await rawExchange(port, [malformed[0]![1]], { timeoutMs: 3000 });
    assertRefused(r, 'CL.TE');
    const line = await logLine(gateway, r.responses[0]!.headers['x-request-id']!);
    assert.equal(line.status, 400);
    assert.equal(line.reason, 'bad_request');
    assert.equal(line.clientIp, '127.0.0.1');
  });

  it('parses a request pipelined after a Content-Length: 0 body as the gateway\'s own request, never the upstream\'s', async () => {
    // The gateway sees two requests and routes each: the second, for a path no route takes, gets the
    // gateway's 404 and never reaches the upstream (as it would if the upstream framed the stream differently).
    const received = upstream.received.length;
    for (const bytes of [
      `${HEAD}Content-Length: 0\r\n\r\n${SMUGGLED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`,
      `GET /api/g HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`,
      `GET /api/b HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}GET /api/c HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`,
    ]) {
      const r = await rawExchange(port, [bytes], { timeoutMs: 3000 });
      const first = bytes.slice(0, bytes.indexOf(' HTTP/1.1'));
      assert.equal(r.malformed, undefined, `${first}: ${r.malformed}`);
      const statuses = r.responses.map((x) => x.status);
      if (bytes.includes('/api/b')) {
        // A body that looks like a request is a body: forwarded as such, and the next request is /api/c.
        assert.deepEqual(statuses, [200, 200], first);
      } else {
        assert.deepEqual(statuses, [200, 404], first);
        const body = assertGatewayError(r.responses[1]!, 404, 'route_not_found', first);
        assert.notEqual(body.error.requestId, r.responses[0]!.headers['x-request-id'], 'each request has its own ID');
      }
    }
    await until(() => upstream.received.length >= received + 4, 2000, 'the upstream requests');
    // Pipelined requests are forwarded concurrently: their order upstream is not fixed.
    assert.deepEqual(paths().slice(received).sort(), ['/api/b', '/api/c', '/api/g', '/api/p']);
    assert.equal(upstream.received.find((x) => x.url === '/api/b')!.bodyBytes, SMUGGLED.length);
    assert.ok(!paths().includes(SMUGGLED_PATH), 'the smuggled path reached the upstream');
  });

  it('aborts the upstream request when the chunked framing breaks after body data was forwarded', async () => {
    // Bytes already streamed cannot be taken back: the upstream sees its request aborted, never completed,
    // and nothing after the break.
    const received = upstream.received.length;
    const r = await rawExchange(port, [`${HEAD}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n`, `4\r\nabcdX0\r\n\r\n${SMUGGLED}`], { gapMs: 200, timeoutMs: 3000 });
    assertRefused(r, 'chunk without its CRLF');
    await until(() => upstream.received.length > received && upstream.received.at(-1)!.aborted, 2000, 'the upstream request aborted');
    assert.deepEqual(paths().slice(received), ['/api/p']);
    assert.ok(!paths().includes(SMUGGLED_PATH), 'the smuggled path reached the upstream');
  });

  it('never writes an error response into a response already under way', async () => {
    // The upstream answers before it has read the request body; the client then breaks the chunked framing.
    // An error written now would be read as the rest of the 200's body: the connection is cut instead.
    handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('early');
      req.on('end', () => res.end('later'));
    };
    const r = await rawExchange(port, [`${HEAD}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n`, `zz\r\n${SMUGGLED}`], { gapMs: 300, timeoutMs: 3000 });
    const got = JSON.stringify(r.bytes.toString('latin1'));
    assert.ok(r.closed, `the connection stayed open: ${got}`);
    assert.equal(r.responses.length, 0, `a complete response arrived: ${got}`);
    assert.match(r.bytes.toString('latin1'), /^HTTP\/1\.1 200 [^]*\r\n\r\nearly$/, 'the 200 is cut short, nothing appended');
    assert.ok(!paths().includes(SMUGGLED_PATH), 'the smuggled path reached the upstream');
  });
});
