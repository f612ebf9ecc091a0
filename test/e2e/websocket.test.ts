/**
 * WebSocket (and any Upgrade) through the gateway, with the `ws` package on both ends: echo both ways, text
 * and binary, close codes propagating either way, the gateway's own answers to upgrades it cannot route, an
 * upstream that refuses the upgrade, the idle timeout of upgraded connections, and route policies admitting
 * upgrades, synchronously and asynchronously.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { hashKey } from '../../src/policies/api-key-auth.ts';
import { startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawExchange, type RawResponse } from '../helpers/raw-http.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

const API_KEY = 'ws-key-0123456789abcdef';
const JWT_SECRET = 'ws-secret-0123456789abcdef0123456789abcdef';
const ISSUER = 'https://auth.ws.test/';

async function token(subject: string, secret = JWT_SECRET): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(subject).setIssuer(ISSUER).setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** Opens a client WebSocket, failing after 5 s. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, handshakeTimeout: 5000 });
  await Promise.race([
    once(ws, 'open'),
    once(ws, 'unexpected-response').then(([, res]) => { throw new Error(`upgrade refused: ${(res as http.IncomingMessage).statusCode}`); }),
  ]);
  inbox(ws);
  return ws;
}

type Message = { readonly data: RawData; readonly isBinary: boolean };
const inboxes = new WeakMap<WebSocket, { queue: Message[]; waiter: (() => void) | undefined }>();

/** Queues every message `ws` receives, so none is lost between two awaits. */
function inbox(ws: WebSocket): { queue: Message[]; waiter: (() => void) | undefined } {
  let box = inboxes.get(ws);
  if (!box) {
    const created: { queue: Message[]; waiter: (() => void) | undefined } = { queue: [], waiter: undefined };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      created.queue.push({ data, isBinary });
      created.waiter?.();
    });
    inboxes.set(ws, box = created);
  }
  return box;
}

/** The next message on `ws`, failing after 3 s. */
async function nextMessage(ws: WebSocket): Promise<Message> {
  const box = inbox(ws);
  const deadline = performance.now() + 3000;
  while (box.queue.length === 0) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error('no message within 3 s');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      box.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    box.waiter = undefined;
  }
  return box.queue.shift()!;
}

/** Resolves with the close code and reason of `ws`, failing after `timeoutMs`. */
async function closed(ws: WebSocket, timeoutMs = 3000): Promise<{ code: number; reason: string; at: number }> {
  if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed');
  const [code, reason] = await once(ws, 'close', { signal: AbortSignal.timeout(timeoutMs) }) as [number, Buffer];
  return { code, reason: reason.toString(), at: performance.now() };
}

/**
 * Sends a raw upgrade request and reads the answer until the gateway closes the connection: exactly one
 * well-formed response (helpers/raw-http.ts), its body as long as its Content-Length says.
 */
async function rawUpgrade(port: number, path: string, extraHeaders = ''): Promise<RawResponse> {
  const r = await rawExchange(port, [`GET ${path} HTTP/1.1\r\nHost: ws.test\r\n${extraHeaders}Connection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`], { timeoutMs: 3000 });
  const got = JSON.stringify(r.bytes.toString('latin1'));
  assert.ok(r.closed, `no complete answer in 3 s; got ${got}`);
  assert.equal(r.malformed, undefined, `${r.malformed}; got ${got}`);
  assert.equal(r.responses.length, 1, `${r.responses.length} responses; got ${got}`);
  assert.ok(r.responses[0]!.headers['content-length'] !== undefined, `no Content-Length to check the body against; got ${got}`);
  return r.responses[0]!;
}

describe('WebSocket through the gateway', () => {
  let upstream: FakeUpstream;
  let wss: WebSocketServer;
  let refusing: FakeUpstream;
  let gateway: TestGateway;
  let wsUrl: string;
  /** Upgrade requests the upstream accepted, with the headers it saw. */
  const upgrades: http.IncomingHttpHeaders[] = [];
  /** Close codes the upstream saw, by path. */
  const upstreamClosed = new Map<string, { code: number; reason: string }>();

  before(async () => {
    upstream = await startUpstream();
    wss = new WebSocketServer({ server: upstream.server });
    wss.on('connection', (socket, req) => {
      const path = req.url ?? '';
      upgrades.push(req.headers);
      socket.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        if (text === 'close-me') return socket.close(4002, 'upstream says bye');
        socket.send(data, { binary: isBinary });
      });
      socket.on('close', (code, reason) => upstreamClosed.set(path, { code, reason: reason.toString() }));
    });
    refusing = await startUpstream();
    refusing.server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-refused-by: upstream\r\n\r\nforbidden');
    });
    gateway = await startGateway({
      upstreams: {
        echo: { targets: [{ url: upstream.url }] },
        refusing: { targets: [{ url: refusing.url }] },
      },
      routes: [
        { name: 'ws', match: { path: '/ws' }, upstream: 'echo' },
        { name: 'ws-idle', match: { path: '/idle' }, upstream: 'echo', upgradeIdleTimeout: '300ms' },
        { name: 'ws-refused', match: { path: '/refused' }, upstream: 'refusing' },
        { name: 'ws-get-only', match: { path: '/post-only', methods: ['POST'] }, upstream: 'echo' },
        { name: 'ws-keyed', match: { path: '/keyed' }, upstream: 'echo', policies: [
          { type: 'api-key-auth', consumers: [{ id: 'ws-client', keys: [hashKey(API_KEY)] }] },
        ] },
        { name: 'ws-jwt', match: { path: '/jwt' }, upstream: 'echo', policies: [
          { type: 'jwt-auth', issuers: [{ issuer: ISSUER, algorithms: ['HS256'], secret: JWT_SECRET }] },
        ] },
      ],
    });
    wsUrl = gateway.url.replace(/^http/, 'ws');
  });

  after(async () => {
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
    await gateway?.close();
    await upstream?.close();
    await refusing?.close();
  });

  it('echoes text and binary messages both ways', async () => {
    const ws = await connect(`${wsUrl}/ws/echo`, { 'x-request-id': 'ws-echo-1' });
    try {
      for (const text of ['hello', 'x'.repeat(100_000), '\u00e9\u6f22\ud83d\ude00']) {
        ws.send(text);
        const m = await nextMessage(ws);
        assert.equal(m.isBinary, false);
        assert.equal(m.data.toString(), text);
      }
      const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
      ws.send(binary);
      const m = await nextMessage(ws);
      assert.equal(m.isBinary, true);
      assert.ok(Buffer.isBuffer(m.data) && binary.equals(m.data), 'binary message changed on the way');
      // Many small messages keep their order.
      for (let i = 0; i < 50; i++) ws.send(`n${i}`);
      for (let i = 0; i < 50; i++) assert.equal((await nextMessage(ws)).data.toString(), `n${i}`);
    } finally {
      ws.terminate();
    }
    const seen = upgrades.at(-1)!;
    assert.equal(seen['x-request-id'], 'ws-echo-1');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.match(String(seen.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('propagates a close from the client to the upstream with its code and reason', async () => {
    const ws = await connect(`${wsUrl}/ws/client-closes`);
    ws.send('ping');
    await nextMessage(ws);
    ws.close(4001, 'client says bye');
    const c = await closed(ws);
    assert.equal(c.code, 4001, 'the upstream echoes the close code back');
    await until(() => upstreamClosed.has('/ws/client-closes'), 2000, 'the upstream to see the close');
    assert.deepEqual(upstreamClosed.get('/ws/client-closes'), { code: 4001, reason: 'client says bye' });
  });

  it('propagates a close from the upstream to the client with its code and reason', async () => {
    const ws = await connect(`${wsUrl}/ws/upstream-closes`);
    ws.send('close-me');
    const c = await closed(ws);
    assert.equal(c.code, 4002);
    assert.equal(c.reason, 'upstream says bye');
  });

  it('answers an upgrade to a route that does not exist with 404 and the JSON error body', async () => {
    const accepted = upgrades.length;
    assertGatewayError(await rawUpgrade(gateway.instance.address.port, '/nowhere'), 404, 'route_not_found', 'upgrade to /nowhere');
    assert.equal(upgrades.length, accepted, 'no upstream saw the upgrade');
  });

  it('answers an upgrade with an unsafe path with 400 bad_path and an upgrade with the wrong method with 405', async () => {
    assertGatewayError(await rawUpgrade(gateway.instance.address.port, '/ws/%2e%2e/admin'), 400, 'bad_path', 'unsafe path');
    const wrong = await rawUpgrade(gateway.instance.address.port, '/post-only');
    assertGatewayError(wrong, 405, 'method_not_allowed', 'wrong method');
    assert.equal(wrong.headers.allow, 'POST');
  });

  it('relays the upstream\'s refusal of the upgrade (403) to the client, logged with its status and no reason', async () => {
    const ws = new WebSocket(`${wsUrl}/refused`, { handshakeTimeout: 5000 });
    ws.on('error', () => {});
    const [, res] = await Promise.race([
      once(ws, 'unexpected-response') as Promise<[unknown, http.IncomingMessage]>,
      once(ws, 'open').then(() => { throw new Error('the upgrade was accepted'); }),
    ]);
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-refused-by'], 'upstream');
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { body += c; });
    await once(res, 'end');
    assert.equal(body, 'forbidden');
    ws.terminate();
    let line: Record<string, unknown> | undefined;
    await until(() => (line = gateway.accessLog().find((l) => l.route === 'ws-refused')) !== undefined, 2000, 'the access log line');
    assert.equal(line!.status, 403);
    assert.equal(line!.reason, undefined, 'the target answered: not a gateway failure');
  });

  it('closes an upgraded connection idle past the route\'s upgradeIdleTimeout', async () => {
    const ws = await connect(`${wsUrl}/idle/quiet`);
    // The gateway's sockets see their last traffic after this moment: the idle time counts from later.
    const sentAt = performance.now();
    ws.send('last words');
    await nextMessage(ws);
    const c = await closed(ws, 3000);
    const idle = c.at - sentAt;
    // The idle timer is the socket's own (Node timers on libuv's loop clock, kept in whole milliseconds and
    // read at the start of each loop turn), so against this process's clock it may fire up to 1 ms early: a
    // CI run closed it after 299.96 ms.
    assert.ok(idle >= 299, `closed after ${idle.toFixed(1)} ms of silence, before the 300 ms upgradeIdleTimeout`);
    // Loose, as in timeouts.test.ts: a shared, busy machine may run the timer late; the lower bound is exact.
    assert.ok(idle < 300 + 1000, `closed after ${idle.toFixed(1)} ms of silence`);
    assert.equal(c.code, 1006, 'the gateway cuts the connection; it sends no close frame');
  });

  it('keeps an upgraded connection that stays active past the upgradeIdleTimeout', async () => {
    const ws = await connect(`${wsUrl}/idle/busy`);
    try {
      const started = performance.now();
      // A message every 100 ms for 1 s: more than three idle timeouts in total, never 300 ms of silence.
      for (let i = 0; i < 10; i++) {
        ws.send(`tick${i}`);
        assert.equal((await nextMessage(ws)).data.toString(), `tick${i}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(performance.now() - started >= 1000);
      assert.equal(ws.readyState, WebSocket.OPEN);
    } finally {
      ws.terminate();
    }
  });

  it('admits an upgrade its route\'s policy accepts at once: the upstream sees the consumer, not the key, and the log names it', async () => {
    const ws = await connect(`${wsUrl}/keyed/chat`, { 'x-api-key': API_KEY, 'x-request-id': 'ws-keyed-1' });
    try {
      ws.send('hello');
      assert.equal((await nextMessage(ws)).data.toString(), 'hello');
    } finally {
      ws.terminate();
    }
    const seen = upgrades.at(-1)!;
    assert.equal(seen['x-request-id'], 'ws-keyed-1');
    assert.equal(seen['x-consumer-id'], 'ws-client');
    assert.equal(seen['x-api-key'], undefined);
    const line = await logLine(gateway, 'ws-keyed-1');
    assert.equal(line.route, 'ws-keyed');
    assert.equal(line.consumer, 'ws-client');
  });

  it('admits an upgrade whose policy decides asynchronously (a token verified the first time), and refuses a bad one with 401 before any 101', async () => {
    const ws = await connect(`${wsUrl}/jwt/chat`, { authorization: `Bearer ${await token('ada')}`, 'x-request-id': 'ws-jwt-1' });
    try {
      ws.send('hello');
      assert.equal((await nextMessage(ws)).data.toString(), 'hello');
    } finally {
      ws.terminate();
    }
    assert.equal(upgrades.at(-1)!['x-user-id'], 'ada');
    const line = await logLine(gateway, 'ws-jwt-1');
    assert.equal(line.route, 'ws-jwt');
    assert.equal(line.consumer, 'ada');

    const accepted = upgrades.length;
    const forged = await token('mallory', 'another-secret-0123456789abcdef0123456789');
    const r = await rawUpgrade(gateway.instance.address.port, '/jwt/chat', `Authorization: Bearer ${forged}\r\n`);
    assertGatewayError(r, 401, 'token_invalid', 'forged token');
    assert.match(r.headers['www-authenticate']!, /^Bearer realm="gatehouse", error="invalid_token"/);
    assert.equal(upgrades.length, accepted, 'no upstream saw the upgrade');
  });
});
