/**
 * Retries per route (docs/traffic-control.md#retries), configured with `retry` on real upstreams: which
 * outcomes and methods are retried on another target, what is never retried (a started response, a body over
 * replayBody, POST after it may have reached an upstream), Retry-After, perTryTimeout, the route timeout and
 * a client abort during the backoff, the budget during a full outage, and the access log's record of it all.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.ts';
import { internalRequest } from '../../src/server/internal-responder.ts';
import { closedPort, echo, startUpstream, until, type FakeUpstream, type UpstreamHandler } from '../helpers/fake-upstream.ts';
import { logLine, startGateway, type TestGateway } from '../helpers/start-gateway.ts';

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The response ended whole (false: cut after the head). */
  readonly complete: boolean;
}

let sent = 0;

/** Sends one request with a fresh X-Request-ID (returned, to find its log line). */
function send(url: string, method: string, body?: Buffer | string, signal = AbortSignal.timeout(10_000)): { id: string; answer: Promise<Answer> } {
  const id = `retry-${process.pid}-${++sent}`;
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = http.request(url, { method, agent: false, signal, headers: { 'x-request-id': id } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => {});
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }));
    });
    req.on('error', reject);
    req.end(body);
  });
  return { id, answer };
}

const reasonOf = (a: Answer) => (JSON.parse(a.body.toString()) as { error: { reason: string } }).error.reason;

/** Reads the whole request body, then closes the connection without answering. */
const resetAfterBody: UpstreamHandler = (req) => {
  req.resume();
  req.on('end', () => req.socket.destroy());
};

/** Answers `status` (with `headers`) after reading the body. */
const answer = (status: number, headers: http.OutgoingHttpHeaders = {}): UpstreamHandler => (req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`status ${status}`));
};

/** Answers with the sha256 of the body it received. */
const hashBody: UpstreamHandler = (req, res) => {
  const hash = createHash('sha256');
  req.on('data', (c: Buffer) => hash.update(c));
  req.on('end', () => res.end(hash.digest('hex')));
};

const quick = { backoff: { base: '1ms', max: '2s' } } as const;

describe('retries', () => {
  const upstreams: Record<string, FakeUpstream> = {};
  let refused = '';
  let gateway: TestGateway;
  /** The time (performance.now()) each upstream received each request. */
  const receivedAt = new Map<string, number[]>();

  const start = async (name: string, handler: UpstreamHandler) => {
    upstreams[name] = await startUpstream((req, res, received) => {
      const times = receivedAt.get(name) ?? [];
      times.push(performance.now());
      receivedAt.set(name, times);
      handler(req, res, received);
    });
  };
  const count = (name: string) => upstreams[name]!.received.length;
  const url = (name: string) => upstreams[name]!.url;

  before(async () => {
    await start('good', echo('good'));
    await start('resetter', resetAfterBody);
    await start('unavailable', answer(503));
    await start('soon', answer(503, { 'retry-after': '1' }));
    await start('later', answer(503, { 'retry-after': '30' }));
    await start('hasher', hashBody);
    for (const name of ['slow', 'slow2']) await start(name, (req, res) => { req.resume(); setTimeout(() => res.end('slow'), 1500).unref(); });
    await start('breaker', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => setImmediate(() => req.socket.destroy()));
    });
    await start('flaky', answer(503));
    await start('down1', answer(503));
    await start('down2', answer(503));
    refused = `http://127.0.0.1:${await closedPort()}`;
    const pair = (first: string, second = url('good')) => ({ targets: [{ url: first }, { url: second }] });
    const route = (name: string, upstream: string, retry: NonNullable<ConfigInput['routes'][number]['retry']>, extra: object = {}) =>
      ({ name, match: { path: `/${name}` }, upstream, retry, ...extra });
    gateway = await startGateway({
      upstreams: {
        resetFirst: pair(url('resetter')),
        refusedFirst: pair(refused),
        unavailableFirst: pair(url('unavailable')),
        soonFirst: pair(url('soon')),
        laterFirst: pair(url('later')),
        hasherReset: pair(url('resetter'), url('hasher')),
        slowFirst: pair(url('slow')),
        allSlow: pair(url('slow'), url('slow2')),
        brokenFirst: pair(url('breaker')),
        outage: pair(url('down1'), url('down2')),
        flakyFirst: pair(url('flaky')),
        soonGone: pair(url('soon')),
        single: { targets: [{ url: url('resetter') }] },
        onlyGood: { targets: [{ url: url('good') }] },
      },
      routes: [
        route('reset', 'resetFirst', quick),
        route('refused', 'refusedFirst', quick),
        route('unavailable', 'unavailableFirst', quick),
        route('post-listed', 'resetFirst', { ...quick, methods: ['POST'] }),
        route('soon', 'soonFirst', quick),
        route('later', 'laterFirst', quick),
        route('soon-bounded', 'soonFirst', quick, { timeout: '300ms' }),
        route('replay', 'hasherReset', { ...quick, replayBody: '1KiB' }),
        route('per-try', 'slowFirst', { ...quick, perTryTimeout: '100ms' }),
        route('per-try-bounded', 'allSlow', { ...quick, perTryTimeout: '250ms' }, { timeout: '400ms' }),
        route('broken', 'brokenFirst', quick),
        route('outage', 'outage', { attempts: 3, backoff: { base: '1ms', max: '1ms' }, budget: { ratio: 0.2, minPerSecond: 0, window: '60s' } }),
        route('single', 'single', quick),
        route('direct', 'onlyGood', quick),
        route('rotation', 'flakyFirst', quick),
        // Its own upstream, so its rotation starts at 'soon' whatever the other routes sent before.
        route('soon-gone', 'soonGone', quick),
      ],
    });
  });

  after(async () => {
    await gateway?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  it('retries a GET whose target reset the connection on the other target, and logs both attempts', async () => {
    const before = [count('resetter'), count('good')];
    const { id, answer } = send(`${gateway.url}/reset/x`, 'GET');
    const r = await answer;
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['x-upstream'], 'good');
    assert.deepEqual([count('resetter') - before[0]!, count('good') - before[1]!], [1, 1]);
    const line = await logLine(gateway, id);
    assert.equal(line.attempts, 2);
    assert.equal(line.tries, `${url('resetter')} reset,${url('good')} 200`);
    assert.equal(line.target, url('good'));
    assert.equal(line.status, 200);
  });

  it('keeps the round-robin rotation when a retry goes to the other target: first attempts still alternate', async () => {
    // Were the retry to take a turn, the rotation would move twice per retried request and every first
    // attempt would land on the failing target.
    const before = count('flaky');
    for (let i = 0; i < 10; i++) assert.equal((await send(`${gateway.url}/rotation/x`, 'GET').answer).status, 200);
    assert.equal(count('flaky') - before, 5, 'half of the first attempts reach the target answering 503');
  });

  it('writes no attempts or tries for a request answered by its first attempt', async () => {
    const { id, answer } = send(`${gateway.url}/direct/x`, 'GET');
    assert.equal((await answer).status, 200);
    const line = await logLine(gateway, id);
    assert.equal(line.target, url('good'));
    assert.equal('attempts' in line || 'tries' in line, false);
  });

  it('gives up after a target resets and no other target is left to try, with the last answer', async () => {
    const before = count('resetter');
    const { id, answer } = send(`${gateway.url}/single/x`, 'GET');
    const r = await answer;
    assert.equal(r.status, 502);
    assert.equal(reasonOf(r), 'upstream_reset');
    assert.equal(count('resetter') - before, 3, 'attempts: 3, to the only target there is');
    const line = await logLine(gateway, id);
    assert.equal(line.attempts, 3);
    assert.equal(line.tries, [1, 2, 3].map(() => `${url('resetter')} reset`).join(','));
    assert.equal(line.reason, 'upstream_reset');
  });

  it('does not retry a POST after a reset: it may have run', async () => {
    const good = count('good');
    const answers = await Promise.all([0, 1].map(() => send(`${gateway.url}/reset/order`, 'POST', '{"amount":1}').answer));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 502], 'one to each target, neither retried');
    assert.equal(reasonOf(answers.find((a) => a.status === 502)!), 'upstream_reset');
    assert.equal(count('good') - good, 1);
  });

  it('does not retry a POST answered 503, even with an Idempotency-Key', async () => {
    const good = count('good');
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await new Promise<number>((resolve, reject) => {
        http.request(`${gateway.url}/unavailable/order`, { method: 'POST', agent: false, headers: { 'idempotency-key': `k-${i}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject).end('{}');
      });
      statuses.push(r);
    }
    assert.deepEqual(statuses.sort(), [200, 503]);
    assert.equal(count('good') - good, 1);
  });

  it('retries a POST after a connect failure, when it provably reached no upstream', async () => {
    const good = count('good');
    const { id, answer } = send(`${gateway.url}/refused/order`, 'POST', '{"amount":1}');
    const r = await answer;
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(count('good') - good, 1);
    assert.equal((await logLine(gateway, id)).tries, `${refused} connect_failure,${url('good')} 200`);
  });

  it('retries a POST after a reset when the route lists POST in methods', async () => {
    const answers = await Promise.all([0, 1].map(() => send(`${gateway.url}/post-listed/order`, 'POST', 'x').answer));
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
  });

  it('retries a 503 on the other target, and the client gets its 200', async () => {
    const before = [count('unavailable'), count('good')];
    const answers = await Promise.all([0, 1].map((i) => send(`${gateway.url}/unavailable/x${i}`, 'GET').answer));
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
    assert.equal(count('unavailable') - before[0]!, 1, 'one of the two was picked for it first');
    assert.equal(count('good') - before[1]!, 2);
  });

  it('waits for a Retry-After within backoff.max before the next attempt', async () => {
    receivedAt.clear();
    const { id, answer } = send(`${gateway.url}/soon/x`, 'GET');
    const r = await answer;
    assert.equal(r.status, 200);
    const first = receivedAt.get('soon')![0]!;
    const second = receivedAt.get('good')![0]!;
    // Retry-After: 1 (timers never fire early; 50 ms of slack for where each side reads the clock).
    assert.ok(second - first >= 950, `the retry came ${Math.round(second - first)} ms after the 503`);
    assert.equal((await logLine(gateway, id)).tries, `${url('soon')} 503,${url('good')} 200`);
  });

  it('does not retry when Retry-After is beyond backoff.max: the 503 and its Retry-After reach the client', async () => {
    const good = count('good');
    const answers = await Promise.all([0, 1].map((i) => send(`${gateway.url}/later/x${i}`, 'GET').answer));
    const refusedAnswer = answers.find((a) => a.status === 503);
    assert.ok(refusedAnswer, 'one request went to the target asking for 30 s');
    assert.equal(refusedAnswer.headers['retry-after'], '30');
    assert.equal(count('good') - good, 1);
  });

  it('does not wait past the route timeout: the 503 stands', async () => {
    const good = count('good');
    const answers = await Promise.all([0, 1].map((i) => send(`${gateway.url}/soon-bounded/x${i}`, 'GET').answer));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 503]);
    assert.equal(count('good') - good, 1);
  });

  it('starts no attempt after the client went away during the backoff', async () => {
    receivedAt.clear();
    const good = count('good');
    const controller = new AbortController();
    const { id, answer } = send(`${gateway.url}/soon-gone/x`, 'GET', undefined, controller.signal);
    answer.catch(() => {});
    await until(() => (receivedAt.get('soon')?.length ?? 0) === 1, 2000, 'the first attempt');
    controller.abort();
    const line = await logLine(gateway, id);
    assert.equal(line.status, 499);
    assert.equal(line.tries, `${url('soon')} 503`);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(count('good'), good, 'the backoff ended after the client left: nothing was sent');
  });

  it('bounds each attempt with perTryTimeout and retries it as a timeout', async () => {
    const before = count('slow');
    const { id, answer } = send(`${gateway.url}/per-try/x`, 'GET');
    const r = await answer;
    assert.equal(r.status, 200);
    assert.equal(count('slow') - before, 1);
    await until(() => upstreams.slow!.received.at(-1)!.aborted, 2000, 'the slow attempt to be aborted');
    assert.equal((await logLine(gateway, id)).tries, `${url('slow')} response_timeout,${url('good')} 200`);
  });

  it('keeps the first attempt\'s route deadline for the next one, so the route timeout bounds the whole', async () => {
    // A body moves the route deadline to when it was sent; a retry must not restart it.
    const { id, answer } = send(`${gateway.url}/per-try-bounded/put`, 'PUT', 'body');
    const r = await answer;
    assert.equal(r.status, 504);
    assert.equal(reasonOf(r), 'route_timeout');
    const line = await logLine(gateway, id);
    assert.equal(line.tries, `${url('slow')} response_timeout,${url('slow2')} route_timeout`);
  });

  it('retries requests the gateway makes itself (batch items, composed calls) the same way', async () => {
    const r = await internalRequest(gateway.instance.gateway, { method: 'GET', url: '/unavailable/internal' });
    const again = await internalRequest(gateway.instance.gateway, { method: 'GET', url: '/unavailable/internal' });
    assert.deepEqual([r.status, again.status], [200, 200]);
    assert.ok([r, again].some((x) => x.ex.tries?.join(',') === `${url('unavailable')} 503,${url('good')} 200`));
  });

  it('never retries an upgrade (WebSocket): the connect failure is the answer', async () => {
    const good = count('good');
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const req = http.request(`${gateway.url}/refused/ws`, {
          agent: false, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
        });
        req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end();
      }));
    }
    // Round-robin: one upgrade to each target; the refused one is answered 502, not tried again elsewhere.
    assert.ok(statuses.includes(502), `statuses ${statuses.join(', ')}`);
    assert.equal(count('good') - good, 1);
  });

  it('never retries a response that has started streaming: it is cut', async () => {
    const good = count('good');
    const breaker = count('breaker');
    const answers = await Promise.all([0, 1].map((i) => send(`${gateway.url}/broken/x${i}`, 'GET').answer));
    const cut = answers.find((a) => !a.complete);
    assert.ok(cut, 'the broken target\'s answer');
    assert.equal(cut.status, 200);
    assert.equal(count('breaker') - breaker, 1);
    assert.equal(count('good') - good, 1, 'only the other request reached the good target');
  });

  it('replays a body within replayBody byte for byte after a reset', async () => {
    const body = randomBytes(1000);
    const answers = await Promise.all([0, 1].map(() => send(`${gateway.url}/replay/put`, 'PUT', body).answer));
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
    for (const a of answers) assert.equal(a.body.toString(), createHash('sha256').update(body).digest('hex'));
  });

  it('does not retry a body larger than replayBody', async () => {
    const body = randomBytes(4096);
    const before = count('hasher');
    const answers = await Promise.all([0, 1].map(() => send(`${gateway.url}/replay/put`, 'PUT', body).answer));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 502]);
    assert.equal(count('hasher') - before, 1, 'only the request sent straight to it');
  });

  it('caps retries with the budget during a full outage', async () => {
    const before = count('down1') + count('down2');
    const requests = 50;
    for (let i = 0; i < requests; i++) {
      const r = await send(`${gateway.url}/outage/x${i}`, 'GET').answer;
      assert.equal(r.status, 503);
    }
    const attempts = count('down1') + count('down2') - before;
    // ratio 0.2, no floor: at most 10 retries for 50 requests, where attempts: 3 alone would allow 100.
    assert.ok(attempts > requests, `some retries were made (${attempts} attempts)`);
    assert.ok(attempts <= requests * 1.2, `${attempts} attempts for ${requests} requests`);
  });
});
