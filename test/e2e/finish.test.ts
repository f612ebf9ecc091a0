/**
 * Finish happens once for every request, however it ended: one access log line and one run of the finish
 * hooks, checked with a counting hook on an in-process gateway for each kind of ending — an upstream answer, a
 * gateway refusal, a content reply, a parser error, a client abort, a timeout and an upgraded connection closing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { hashKey } from '../../src/policies/api-key-auth.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, rawRequest } from '../helpers/raw-http.ts';
import { startGateway, type TestGateway } from '../helpers/start-gateway.ts';

interface Finished {
  readonly requestId: string;
  readonly status: number;
  readonly reason: string | undefined;
}

describe('finish runs once for every kind of ending', () => {
  let up: FakeUpstream;
  let wsUp: FakeUpstream;
  let wss: WebSocketServer;
  let gw: TestGateway;
  const held: http.ServerResponse[] = [];
  /** Every call of the counting hook, in order. */
  const finished: Finished[] = [];
  let removeHook: () => void = () => {};

  before(async () => {
    const echoing = echo('up');
    up = await startUpstream((req, res, received) => {
      if (!req.url?.startsWith('/hang') && !req.url?.startsWith('/slow')) return echoing(req, res, received);
      req.resume();
      held.push(res);
    });
    wsUp = await startUpstream();
    wss = new WebSocketServer({ server: wsUp.server });
    wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }] }, ws: { targets: [{ url: wsUp.url }] } },
      routes: [
        { name: 'ok', match: { path: '/ok' }, upstream: 'up' },
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'up', policies: [{ type: 'api-key-auth', consumers: [{ id: 'c', keys: [hashKey('finish-key-0123456789')] }] }] },
        { name: 'maint', match: { path: '/maint' }, upstream: 'up', policies: [{ type: 'request-termination', body: 'back soon' }] },
        { name: 'hang', match: { path: '/hang' }, upstream: 'up' },
        { name: 'slow', match: { path: '/slow' }, upstream: 'up', timeout: '200ms' },
        { name: 'ws', match: { path: '/ws' }, upstream: 'ws' },
      ],
    });
    removeHook = gw.instance.gateway.finishHooks.add('count', (ex) => {
      finished.push({ requestId: ex.requestId, status: ex.status, reason: ex.reason });
    });
  });

  after(async () => {
    removeHook();
    for (const res of held) res.destroy();
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
    await gw?.close();
    await Promise.all([up?.close(), wsUp?.close()]);
  });

  /** Waits until nothing is in flight, then checks `requestId` finished exactly once, with one log line. */
  async function assertFinishedOnce(requestId: string, status: number, reason?: string): Promise<void> {
    await until(() => gw.instance.gateway.runtime.inFlight === 0 && finished.some((f) => f.requestId === requestId), 3000, `${requestId} to finish`);
    const hooked = finished.filter((f) => f.requestId === requestId);
    assert.deepEqual(hooked, [{ requestId, status, reason }], `${requestId}: the hook ran once`);
    assert.equal(gw.accessLog().filter((l) => l.requestId === requestId).length, 1, `${requestId}: one log line`);
  }

  function send(path: string, requestId: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      http.get(`${gw.url}${path}`, { headers: { ...headers, 'x-request-id': requestId }, agent: false, signal: AbortSignal.timeout(5000) }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
  }

  it('finishes an upstream answer once', async () => {
    assert.equal(await send('/ok', 'fin-answer'), 200);
    await assertFinishedOnce('fin-answer', 200);
  });

  it('finishes the gateway\'s refusals once: a 404 and a 401', async () => {
    assert.equal(await send('/nowhere', 'fin-404'), 404);
    assert.equal(await send('/keyed', 'fin-401'), 401);
    await assertFinishedOnce('fin-404', 404, 'route_not_found');
    await assertFinishedOnce('fin-401', 401, 'api_key_missing');
  });

  it('finishes a content reply with a body once', async () => {
    assert.equal(await send('/maint', 'fin-content'), 503);
    await assertFinishedOnce('fin-content', 503);
  });

  it('finishes a request the parser refused once, under the request ID its answer names', async () => {
    const r = await rawRequest(gw.instance.address.port, ['NOT A REQUEST LINE\r\n\r\n']);
    const { error } = assertGatewayError(r, 400, 'bad_request');
    await assertFinishedOnce(error.requestId, 400, 'bad_request');
  });

  it('finishes a request the client abandoned while the upstream was slow once, as 499', async () => {
    const req = http.get(`${gw.url}/hang/1`, { headers: { 'x-request-id': 'fin-abort' }, agent: false });
    req.on('error', () => {});
    await until(() => up.received.some((r) => r.url === '/hang/1'), 2000, 'the request to reach the upstream');
    req.destroy();
    await assertFinishedOnce('fin-abort', 499, 'client_aborted');
    await until(() => up.received.find((r) => r.url === '/hang/1')?.aborted === true, 2000, 'the upstream to see the abort');
  });

  it('finishes a timed-out request once', async () => {
    assert.equal(await send('/slow/1', 'fin-timeout'), 504);
    await assertFinishedOnce('fin-timeout', 504, 'route_timeout');
  });

  it('finishes an upgraded connection once, when it closes', async () => {
    const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/ws`, { headers: { 'x-request-id': 'fin-ws' }, handshakeTimeout: 5000 });
    await once(ws, 'open');
    ws.send('ping');
    const [message] = await once(ws, 'message', { signal: AbortSignal.timeout(3000) }) as [Buffer];
    assert.equal(message.toString(), 'ping');
    assert.equal(finished.some((f) => f.requestId === 'fin-ws'), false, 'not finished while the connection is open');
    ws.close(1000, 'done');
    await once(ws, 'close', { signal: AbortSignal.timeout(3000) });
    await assertFinishedOnce('fin-ws', 101);
  });

  it('wrote exactly one log line for every finish, and no request finished twice', async () => {
    await until(() => gw.instance.gateway.runtime.inFlight === 0, 3000, 'nothing in flight');
    const ids = finished.map((f) => f.requestId);
    assert.equal(new Set(ids).size, ids.length, 'no request ID was finished twice');
    assert.deepEqual(gw.accessLog().map((l) => l.requestId).sort(), [...ids].sort());
    assert.equal(finished.length, 8, 'the eight requests above');
  });
});
