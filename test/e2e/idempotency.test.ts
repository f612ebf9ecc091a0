/**
 * The idempotency policy end to end, memory store: real upstreams on 127.0.0.1, one in-process gateway.
 * Replay (status, headers, body identical, upstream hit once), in progress (409 while the first is held),
 * mismatch (422), the TTL, a 5xx stored and replayed, the key released after a connect failure, an oversize
 * answer not stored, methods not covered, identity separation, bad keys and bodies over the bound.
 * The Redis store (shared by two processes, Redis down) is in idempotency-redis.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../../src/policies/api-key-auth.ts';
import { request, type Answer } from '../helpers/e2e-process.ts';
import { closedPort, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';

/** Answers by path: /ok 201, /fail 500, /big a 4 KiB body, /slow waits for release(); each with a hit count. */
function service(): { handler: http.RequestListener; release: () => void; hits: (path: string) => number } {
  const counts = new Map<string, number>();
  let held: Array<() => void> = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url!, 'http://x').pathname;
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const answer = () => {
        const status = path.endsWith('/fail') ? 500 : 201;
        const body = path.endsWith('/big') ? 'x'.repeat(4096) : JSON.stringify({ n, path, got: Buffer.concat(chunks).toString() });
        res.writeHead(status, [['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))], ['x-charge', `ch_${n}`], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
        res.end(body);
      };
      if (path.endsWith('/slow')) held.push(answer);
      else answer();
    });
  };
  return {
    handler,
    release: () => { for (const f of held) f(); held = []; },
    hits: (path) => counts.get(path) ?? 0,
  };
}

const post = (gw: TestGateway, path: string, key: string | undefined, body = '{"amount":10}', headers: Record<string, string> = {}): Promise<Answer> =>
  request(gw.url, path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }), ...headers } });

describe('idempotency policy (memory store)', () => {
  let svc: ReturnType<typeof service>;
  let up: FakeUpstream;
  let gw: TestGateway;
  let latePort: number;
  let late: http.Server | undefined;

  before(async () => {
    svc = service();
    up = await startUpstream(svc.handler);
    latePort = await closedPort();
    gw = await startGateway({
      upstreams: {
        svc: { targets: [{ url: up.url }] },
        later: { targets: [{ url: `http://127.0.0.1:${latePort}` }] },
        half: { targets: [{ url: `http://127.0.0.1:${await closedPort()}` }, { url: up.url }] },
      },
      routes: [
        { name: 'pay', match: { path: '/pay' }, upstream: 'svc', policies: [{ type: 'idempotency', maxBody: '1KiB' }] },
        { name: 'short', match: { path: '/short' }, upstream: 'svc', policies: [{ type: 'idempotency', ttl: '300ms' }] },
        { name: 'later', match: { path: '/later' }, upstream: 'later', policies: [{ type: 'idempotency' }] },
        { name: 'retried', match: { path: '/retried' }, upstream: 'half', retry: { attempts: 2, backoff: { base: '1ms', max: '5ms' } }, policies: [{ type: 'idempotency' }] },
        { name: 'closed', match: { path: '/closed' }, upstream: 'svc', policies: [{ type: 'idempotency' }, { type: 'request-termination', status: 503, body: 'maintenance' }] },
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'svc', policies: [
          { type: 'api-key-auth', consumers: [{ id: 'alice', keys: [hashKey(ALICE)] }, { id: 'bob', keys: [hashKey(BOB)] }] },
          { type: 'idempotency' },
        ] },
      ],
    });
  });

  after(async () => {
    svc.release();
    await gw.close();
    await up.close();
    late?.close();
  });

  it('replays the first answer to a repeat, identical, with Idempotent-Replayed: true, and the upstream hit once', async () => {
    const first = await post(gw, '/pay/ok', 'k-replay');
    const again = await post(gw, '/pay/ok', 'k-replay');
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(again.status, 201);
    assert.equal(again.body, first.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.headers['x-charge'], 'ch_1');
    assert.equal(again.headers['content-type'], 'application/json');
    assert.deepEqual(again.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(again.headers['content-length'], String(Buffer.byteLength(first.body)));
    assert.notEqual(again.headers['x-request-id'], first.headers['x-request-id']);
    assert.equal(svc.hits('/pay/ok'), 1);
    const line = await logLine(gw, again.headers['x-request-id'] as string);
    assert.deepEqual([line.status, line.source, line.reason], [201, 'idempotency-replay', undefined]);
  });

  it('keeps the first answer\'s framing: Content-Length stays when the capture only watches', async () => {
    const first = await post(gw, '/pay/ok', 'k-framing');
    assert.equal(first.headers['content-length'], String(Buffer.byteLength(first.body)));
    assert.equal(first.headers['transfer-encoding'], undefined);
  });

  it('answers 409 idempotency_in_progress to a duplicate while the first is held, then replays once it is answered', async () => {
    const first = post(gw, '/pay/slow', 'k-slow');
    await until(() => up.received.some((r) => r.url === '/pay/slow'), 2000, 'the first request upstream');
    const duplicate = await post(gw, '/pay/slow', 'k-slow');
    assert.equal(duplicate.status, 409);
    assert.equal(JSON.parse(duplicate.body).error.reason, 'idempotency_in_progress');
    svc.release();
    const answered = await first;
    assert.equal(answered.status, 201);
    const replay = await post(gw, '/pay/slow', 'k-slow');
    assert.equal(replay.body, answered.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(svc.hits('/pay/slow'), 1);
  });

  it('answers 422 idempotency_key_mismatch to the same key with a different body, stored or in flight', async () => {
    await post(gw, '/pay/ok', 'k-mismatch', '{"amount":1}');
    const other = await post(gw, '/pay/ok', 'k-mismatch', '{"amount":2}');
    assert.equal(other.status, 422);
    assert.equal(JSON.parse(other.body).error.reason, 'idempotency_key_mismatch');
    const pending = post(gw, '/pay/slow', 'k-mismatch-pending', 'one');
    await until(() => up.received.filter((r) => r.url === '/pay/slow').length === 2, 2000, 'the held request upstream');
    assert.equal((await post(gw, '/pay/slow', 'k-mismatch-pending', 'two')).status, 422);
    svc.release();
    await pending;
  });

  it('stores a 5xx and replays it: the same request gets the same answer', async () => {
    const first = await post(gw, '/pay/fail', 'k-fail');
    const again = await post(gw, '/pay/fail', 'k-fail');
    assert.deepEqual([first.status, again.status], [500, 500]);
    assert.equal(again.body, first.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(svc.hits('/pay/fail'), 1);
  });

  it('sends an answer larger than maxBody whole but does not store it: the repeat reaches the upstream', async () => {
    const first = await post(gw, '/pay/big', 'k-big');
    assert.equal(first.body.length, 4096);
    const again = await post(gw, '/pay/big', 'k-big');
    assert.equal(again.body.length, 4096);
    assert.equal(again.headers['idempotent-replayed'], undefined);
    assert.equal(svc.hits('/pay/big'), 2);
  });

  it('forgets a stored answer after ttl: the repeat then reaches the upstream again', async () => {
    await post(gw, '/short/ok', 'k-ttl');
    assert.equal((await post(gw, '/short/ok', 'k-ttl')).headers['idempotent-replayed'], 'true');
    await new Promise((r) => setTimeout(r, 400));
    const later = await post(gw, '/short/ok', 'k-ttl');
    assert.equal(later.headers['idempotent-replayed'], undefined);
    assert.equal(svc.hits('/short/ok'), 2);
  });

  it('releases the key after a connect failure (nothing reached an upstream): the retry reaches the upstream once it is up', async () => {
    const refused = await post(gw, '/later/ok', 'k-later');
    assert.equal(refused.status, 502);
    assert.equal(JSON.parse(refused.body).error.reason, 'upstream_connect_failure');
    const lateSvc = service();
    late = http.createServer(lateSvc.handler).listen(latePort, '127.0.0.1');
    await once(late, 'listening');
    const retried = await post(gw, '/later/ok', 'k-later');
    assert.equal(retried.status, 201);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assert.equal(lateSvc.hits('/later/ok'), 1);
    assert.equal((await post(gw, '/later/ok', 'k-later')).headers['idempotent-replayed'], 'true');
  });

  it('lets methods it does not cover through untouched, key or not', async () => {
    for (const method of ['PUT', 'DELETE']) {
      for (let i = 0; i < 2; i++) {
        const answer = await request(gw.url, '/pay/plain', { method, body: 'x', headers: { 'idempotency-key': 'k-plain', 'content-length': '1' } });
        assert.equal(answer.status, 201, answer.body);
        assert.equal(answer.headers['idempotent-replayed'], undefined);
      }
    }
    assert.equal(svc.hits('/pay/plain'), 4);
  });

  it('lets a POST without Idempotency-Key through every time', async () => {
    await post(gw, '/pay/nokey', undefined);
    await post(gw, '/pay/nokey', undefined);
    assert.equal(svc.hits('/pay/nokey'), 2);
  });

  it('keeps two consumers\' identical keys apart', async () => {
    const alice = await post(gw, '/keyed/ok', 'shared-key', 'a', { 'x-api-key': ALICE });
    const bob = await post(gw, '/keyed/ok', 'shared-key', 'b', { 'x-api-key': BOB });
    assert.deepEqual([alice.status, bob.status], [201, 201]);
    assert.equal(bob.headers['idempotent-replayed'], undefined);
    assert.equal(svc.hits('/keyed/ok'), 2);
    const aliceAgain = await post(gw, '/keyed/ok', 'shared-key', 'a', { 'x-api-key': ALICE });
    assert.equal(aliceAgain.body, alice.body);
    assert.equal(aliceAgain.headers['idempotent-replayed'], 'true');
  });

  it('refuses an invalid Idempotency-Key with 400 idempotency_key_invalid, forwarding nothing', async () => {
    for (const key of ['', 'with space', 'x'.repeat(256), 'ünï']) {
      const answer = await request(gw.url, '/pay/badkey', { method: 'POST', body: 'x', headers: { 'idempotency-key': Buffer.from(key, 'utf8').toString('latin1') } });
      assert.equal(answer.status, 400, `key ${JSON.stringify(key)}`);
      assert.equal(JSON.parse(answer.body).error.reason, 'idempotency_key_invalid');
    }
    assert.equal(svc.hits('/pay/badkey'), 0);
  });

  it('refuses a keyed body over maxBody with 413 idempotency_body_too_large, declared or chunked, forwarding nothing', async () => {
    const declared = await post(gw, '/pay/huge', 'k-huge', 'y'.repeat(2048));
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).error.reason, 'idempotency_body_too_large');
    const chunked = await request(gw.url, '/pay/huge', { method: 'POST', body: 'y'.repeat(2048), headers: { 'idempotency-key': 'k-huge2', 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 413);
    assert.equal(svc.hits('/pay/huge'), 0);
  });

  it('forwards a keyed body it read whole, byte for byte, with 100-continue honoured', async () => {
    const body = 'z'.repeat(900);
    const answer = await request(gw.url, '/pay/echo', { method: 'POST', body, headers: { 'idempotency-key': 'k-echo', expect: '100-continue' } });
    assert.equal(answer.status, 201);
    assert.equal(JSON.parse(answer.body).got, body);
  });

  it('releases the key when a policy after it refuses (nothing forwarded): the repeat is answered afresh', async () => {
    const first = await post(gw, '/closed/x', 'k-closed');
    const again = await post(gw, '/closed/x', 'k-closed');
    assert.deepEqual([first.status, again.status], [503, 503]);
    assert.equal(again.headers['idempotent-replayed'], undefined);
    const line = await logLine(gw, again.headers['x-request-id'] as string);
    assert.equal(line.source, 'request-termination');
  });

  it('keeps the key in progress when the client goes away after the request reached the upstream', async () => {
    const body = '{"amount":5}';
    const client = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
    await once(client, 'connect');
    client.write(`POST /pay/slow HTTP/1.1\r\nhost: x\r\nidempotency-key: k-gone\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    const seenBefore = up.received.filter((r) => r.url === '/pay/slow').length;
    await until(() => up.received.filter((r) => r.url === '/pay/slow').length > seenBefore, 2000, 'the request upstream');
    client.destroy();
    await until(() => gw.accessLog().some((l) => l.reason === 'client_aborted' && l.path === '/pay/slow'), 2000, 'the 499 line');
    const repeat = await post(gw, '/pay/slow', 'k-gone', body);
    assert.equal(repeat.status, 409);
    svc.release();
  });

  it('claims nothing for a client that goes away mid-upload: the key is free for its retry', async () => {
    const client = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
    await once(client, 'connect');
    client.write('POST /pay/ok HTTP/1.1\r\nhost: x\r\nidempotency-key: k-upload\r\ncontent-length: 100\r\n\r\nhalf');
    await new Promise((r) => setTimeout(r, 50));
    client.destroy();
    const hits = svc.hits('/pay/ok');
    const retry = await post(gw, '/pay/ok', 'k-upload');
    assert.equal(retry.status, 201);
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    assert.equal(svc.hits('/pay/ok'), hits + 1);
  });

  it('sends the body it read ahead again on a retry after a connect failure, and stores the retry\'s answer', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 2; i++) answers.push(await post(gw, '/retried/ok', `k-retried-${i}`, `body-${i}`));
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 201);
      assert.equal(JSON.parse(answer.body).got, `body-${i}`);
    }
    const lines = await Promise.all(answers.map((a) => logLine(gw, a.headers['x-request-id'] as string)));
    assert.ok(lines.some((l) => l.attempts === 2), 'one of them was retried after the closed target refused');
    const replays = await Promise.all([0, 1].map((i) => post(gw, '/retried/ok', `k-retried-${i}`, `body-${i}`)));
    assert.deepEqual(replays.map((r) => r.headers['idempotent-replayed']), ['true', 'true']);
    assert.equal(svc.hits('/retried/ok'), 2);
  });
});
