/**
 * Real Attempts against real loopback servers, one for each way an attempt can end: what reaches the target's
 * state (outcome, status, bytes, in-flight count) and what the owner — the client-side writer — is told.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { blackHole, type BlackHole } from '../../test/helpers/black-hole.ts';
import { closedPort } from '../../test/helpers/fake-upstream.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { routeSchema } from '../config/schema.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { EMPTY_CHAIN } from '../pipeline/run.ts';
import { DeadlineTicker } from '../runtime/deadline-ticker.ts';
import { routeRuntime } from '../runtime/route.ts';
import { roundRobin } from '../upstream/balancers/round-robin.ts';
import { poolOptions } from '../upstream/pool-registry.ts';
import { Target } from '../upstream/target.ts';
import { TargetState, type OutcomeReport } from '../upstream/target-state.ts';
import { upstreamSchema } from '../upstream/upstream-schema.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { RequestBody } from './request-body.ts';

/** Requests the HTTP server holds without answering, by path (destroyed at the end). */
const held = new Map<string, http.ServerResponse>();
const server = http.createServer((req, res) => {
  const path = req.url ?? '';
  if (path === '/ok') return req.resume().on('end', () => res.end('hello'));
  if (path === '/echo') {
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; }).on('end', () => res.end(String(bytes)));
    return;
  }
  if (path === '/reset') return req.socket.destroy();
  req.resume();
  held.set(path, res);
  if (path === '/body-break') {
    res.writeHead(200, { 'content-length': '100' });
    res.write('0123456789', () => setImmediate(() => req.socket.destroy()));
  } else if (path === '/body-silent') {
    res.writeHead(200, { 'content-length': '100' });
    res.write('0123456789');
  }
  // Anything else (/hang): no answer at all.
});
/** Answers anything with bytes that are not HTTP. */
const garbage = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', () => socket.end('HELLO THERE\r\n\r\n'));
});

let base = '';
let garbageUrl = '';
let refusedUrl = '';
let hole: BlackHole;
const ticker = new DeadlineTicker();
const pools: Pool[] = [];

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
  refusedUrl = `http://127.0.0.1:${await closedPort()}`;
  hole = await blackHole();
});

after(async () => {
  for (const res of held.values()) res.destroy();
  await Promise.all(pools.map((pool) => pool.destroy()));
  ticker.close();
  hole?.close();
  server.closeAllConnections();
  server.close();
  garbage.close();
});

interface Options {
  readonly method?: string;
  readonly body?: RequestBody;
  readonly idleTimeout?: string;
  readonly routeTimeout?: string;
  readonly response?: string;
}

/** What one attempt did: the owner's calls, the state's reports, and the attempt itself. */
interface Run {
  readonly attempt: Attempt;
  readonly state: TargetState;
  readonly ex: Exchange;
  readonly told: string[];
  /** The report the target's state receives (the attempt's end). */
  readonly reported: Promise<OutcomeReport>;
}

/** Starts a real Attempt for `path` on a target at `url`, with a recording owner. */
function attempt(url: string, path: string, options: Options = {}): Run {
  const upstreamConfig = upstreamSchema.parse({ targets: [{ url }], timeouts: { connect: '300ms', response: options.response ?? '5s' } });
  const state = new TargetState('u', url);
  const pool = new Pool(new URL(url).origin, poolOptions(upstreamConfig.targets[0]!, upstreamConfig));
  pools.push(pool);
  const target = new Target(url, 1, pool, state);
  const upstream = { name: 'u', config: upstreamConfig, targets: [target], balancer: roundRobin([target]), hashKey: undefined };
  const route = routeRuntime(routeSchema.parse({
    name: 'r', match: { path: '/' }, upstream: 'u', idleTimeout: options.idleTimeout ?? '5s', ...(options.routeTimeout ? { timeout: options.routeTimeout } : {}),
  }), upstream, EMPTY_CHAIN);
  const ex = testExchange({ method: options.method ?? 'GET', path });
  const told: string[] = [];
  const owner: AttemptOwner = {
    attemptHead: (_a, status) => { told.push(`head ${status}`); return true; },
    attemptData: (_a, chunk) => { told.push(`data ${chunk.toString()}`); return true; },
    attemptEnd: () => { told.push('end'); },
    attemptFailed: (_a, reason: Reason) => { told.push(`failed ${reason}`); },
  };
  const reported = new Promise<OutcomeReport>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no outcome for ${path} within 5 s`)), 5000);
    state.onOutcome((report) => {
      clearTimeout(timer);
      resolve(report);
    });
  });
  const run = new Attempt(ex, route, target, '00f067aa0ba902b7', options.body ?? null, owner, ticker);
  run.start(path, ['host', 'attempt.test']);
  return { attempt: run, state, ex, told, reported };
}

/** Waits (bounded) until the server holds a request for `path`. */
async function heldFor(path: string): Promise<http.ServerResponse> {
  for (let i = 0; i < 400 && !held.has(path); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(held.has(path), `the server to receive ${path}`);
  return held.get(path)!;
}

/** The checks every ended attempt shares: one report, nothing in flight, no deadline watched. */
function assertEnded(run: Run, report: OutcomeReport, outcome: string, failures: number): void {
  assert.equal(report.outcome, outcome);
  assert.equal(run.state.attempts, 1);
  assert.equal(run.state.failures, failures);
  assert.deepEqual(run.state.recentOutcomes(), [outcome]);
  assert.equal(run.state.inFlight, 0, 'the in-flight count is released');
  assert.equal(run.attempt.done, true);
  assert.equal(run.attempt.deadlineSlot, -1, 'no deadline left watched');
}

describe('an attempt reports how it ended', () => {
  it('reports a response with its status, time to headers and bytes, and hands the owner head, body and end', async () => {
    const run = attempt(base, '/ok');
    assert.equal(run.state.inFlight, 1, 'counted in flight while it runs');
    const report = await run.reported;
    assertEnded(run, report, 'response', 0);
    assert.equal(report.status, 200);
    assert.equal(report.bytesReceived, 5);
    assert.ok(report.headersMs !== undefined && report.headersMs >= 0);
    assert.equal(run.ex.upstreamMs, report.headersMs);
    assert.equal(run.state.latencyEwmaMs, report.headersMs);
    assert.deepEqual(run.told, ['head 200', 'data hello', 'end']);
  });

  it('reports the bytes of a request body it sent', async () => {
    const body = new RequestBody(Readable.from([Buffer.from('abc'), Buffer.from('defg')]), 0);
    const run = attempt(base, '/echo', { method: 'POST', body });
    const report = await run.reported;
    assertEnded(run, report, 'response', 0);
    assert.equal(report.bytesSent, 7);
    assert.equal(run.ex.bytesIn, 7);
    assert.deepEqual(run.told, ['head 200', 'data 7', 'end']);
  });

  it('reports connect_failure for a refused connection, and tells the owner upstream_connect_failure', async () => {
    const run = attempt(refusedUrl, '/x');
    const report = await run.reported;
    assertEnded(run, report, 'connect_failure', 1);
    assert.equal(report.status, undefined);
    assert.equal(report.headersMs, undefined);
    assert.deepEqual(run.told, ['failed upstream_connect_failure']);
    assert.equal(run.ex.upstreamError, 'ECONNREFUSED');
  });

  it('reports connect_timeout when the connect hangs past timeouts.connect', async () => {
    const run = attempt(`http://127.0.0.1:${hole.port}`, '/x');
    const report = await run.reported;
    assertEnded(run, report, 'connect_timeout', 1);
    assert.deepEqual(run.told, ['failed upstream_connect_timeout']);
  });

  it('reports response_timeout when no head comes within timeouts.response, and aborts the request upstream', async () => {
    const run = attempt(base, '/hang-response', { response: '150ms' });
    const res = await heldFor('/hang-response');
    const report = await run.reported;
    assertEnded(run, report, 'response_timeout', 1);
    assert.deepEqual(run.told, ['failed upstream_response_timeout']);
    await new Promise((resolve) => (res.destroyed ? resolve(undefined) : res.once('close', resolve)));
  });

  it('reports response_timeout for the route\'s timeout too, with the route_timeout reason', async () => {
    const run = attempt(base, '/hang-route', { routeTimeout: '150ms' });
    const report = await run.reported;
    assertEnded(run, report, 'response_timeout', 1);
    assert.deepEqual(run.told, ['failed route_timeout']);
  });

  it('reports reset when the target closes the connection before a response head', async () => {
    const run = attempt(base, '/reset');
    const report = await run.reported;
    assertEnded(run, report, 'reset', 1);
    assert.deepEqual(run.told, ['failed upstream_reset']);
  });

  it('reports bad_response when the target answers with something that is not HTTP', async () => {
    const run = attempt(garbageUrl, '/x');
    const report = await run.reported;
    assertEnded(run, report, 'bad_response', 1);
    assert.deepEqual(run.told, ['failed upstream_bad_response']);
    assert.match(run.ex.upstreamError ?? '', /^(HPE_|HTTPParserError)/);
  });

  it('reports body_error when the body breaks off after the head, with the status and the bytes that came', async () => {
    const run = attempt(base, '/body-break');
    const report = await run.reported;
    assertEnded(run, report, 'body_error', 1);
    assert.equal(report.status, 200);
    assert.equal(report.bytesReceived, 10);
    assert.deepEqual(run.told, ['head 200', 'data 0123456789', 'failed upstream_body_error']);
  });

  it('reports body_timeout when the body goes silent past the idle timeout', async () => {
    const run = attempt(base, '/body-silent', { idleTimeout: '150ms' });
    const report = await run.reported;
    assertEnded(run, report, 'body_timeout', 1);
    assert.deepEqual(run.told, ['head 200', 'data 0123456789', 'failed upstream_body_timeout']);
  });

  it('reports cancelled when the client goes away, tells the owner nothing, and aborts the request upstream', async () => {
    const run = attempt(base, '/hang-cancel');
    const res = await heldFor('/hang-cancel');
    run.attempt.cancel('client_aborted');
    const report = await run.reported;
    assertEnded(run, report, 'cancelled', 0);
    assert.deepEqual(run.told, [], 'the owner ended it: nothing to tell');
    await new Promise((resolve) => (res.destroyed ? resolve(undefined) : res.once('close', resolve)));
    run.attempt.cancel('client_aborted');
    assert.equal(run.state.attempts, 1, 'a second cancel reports nothing');
  });

  it('reports cancelled, not a failure of the target, when the client\'s body goes silent (client_body_timeout)', async () => {
    const source = new Readable({ read() {} });
    source.push('partial');
    const run = attempt(base, '/echo', { method: 'POST', body: new RequestBody(source, 0), idleTimeout: '150ms' });
    const report = await run.reported;
    assertEnded(run, report, 'cancelled', 0);
    assert.deepEqual(run.told, ['failed client_body_timeout']);
    source.destroy();
  });
});
