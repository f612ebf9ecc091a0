import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configSchema, type Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { Gateway } from './gateway.ts';

// Pools are per origin: two servers give two targets with pools of their own. /slow answers only when told
// to, so a request can be held in flight on a pool across a reload.
let answerSlow: (() => void) | undefined;
const servers = [0, 1].map(() => http.createServer((req, res) => {
  if (req.url === '/slow') answerSlow = () => res.end('late');
  else res.end('ok');
}));
const origins: string[] = [];
before(async () => {
  for (const server of servers) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origins.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});
after(() => {
  for (const server of servers) server.close();
});

/** One upstream (and route) per name, each with one target at the given URL. */
function config(upstreams: Record<string, string>): Config {
  const names = Object.keys(upstreams);
  return configSchema.parse({
    log: { level: 'silent', access: { enabled: false } },
    upstreams: Object.fromEntries(names.map((n) => [n, { targets: [{ url: upstreams[n] }] }])),
    routes: names.map((n) => ({ name: n, match: { path: `/${n}` }, upstream: n })),
  });
}

const poolOf = (gateway: Gateway, upstream: string) => gateway.runtime.upstreams.get(upstream)!.targets[0]!.pool;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check(), what);
}

describe('Gateway pools across reloads', () => {
  it('keeps the pool of a target that stays, and closes a removed target\'s pool once the old runtime\'s requests finish', async () => {
    const gateway = new Gateway(config({ kept: origins[0]!, removed: origins[1]! }), createLogger('silent'));
    const kept = poolOf(gateway, 'kept');
    const removed = poolOf(gateway, 'removed');
    assert.equal(gateway.pools.size, 2);

    const old = gateway.runtime;
    old.enter();
    const inFlight = removed.request({ method: 'GET', path: '/slow' });
    await until(() => answerSlow !== undefined, 'the slow request reached the upstream');

    gateway.reload(config({ kept: origins[0]! }));
    assert.equal(poolOf(gateway, 'kept'), kept, 'the target that stays keeps its pool');
    assert.equal(removed.closed, false, 'the old runtime still has a request in flight');
    assert.equal(gateway.pools.size, 2);

    old.leave();
    assert.equal(gateway.pools.size, 1);
    assert.equal(removed.closed, true, 'closing once the old runtime is released');
    assert.equal(kept.closed, false);
    answerSlow!();
    const { statusCode, body } = await inFlight;
    assert.equal(statusCode, 200);
    assert.equal(await body.text(), 'late', 'the in-flight request finished on the closing pool');

    await gateway.close();
    assert.equal(kept.closed, true);
    assert.equal(gateway.pools.size, 0);
  });

  it('closes on close even the pools a runtime with a request in flight still holds', async () => {
    const gateway = new Gateway(config({ held: origins[0]! }), createLogger('silent'));
    const held = poolOf(gateway, 'held');
    gateway.runtime.enter();
    await gateway.close();
    assert.equal(held.closed, true);
    assert.equal(gateway.pools.size, 0);
  });

  it('releases the pools a failed reload opened and keeps the ones the old runtime holds', async () => {
    const gateway = new Gateway(config({ kept: origins[0]! }), createLogger('silent'));
    const kept = poolOf(gateway, 'kept');
    const bad = config({ kept: origins[0]!, opened: origins[1]!, broken: 'https://127.0.0.1:1' });
    // A CA file that vanished after validation makes the build throw after the first two pools were taken.
    (bad.upstreams.broken as { tls: unknown }).tls = { ca: '/nonexistent/ca.pem', rejectUnauthorized: true };
    assert.throws(() => gateway.reload(bad), /ENOENT/);
    assert.equal(gateway.pools.size, 1);
    assert.equal(poolOf(gateway, 'kept'), kept);
    assert.equal(kept.closed, false);
    await gateway.close();
  });
});

const stateOf = (gateway: Gateway, upstream: string) => gateway.runtime.upstreams.get(upstream)!.targets[0]!.state;
const failure = { outcome: 'reset', status: undefined, headersMs: undefined, bytesSent: 0, bytesReceived: 0 } as const;

describe('Gateway target state across reloads', () => {
  it('keeps the same state, with its counts and availability, when a reload keeps the target', async () => {
    const gateway = new Gateway(config({ kept: origins[0]! }), createLogger('silent'));
    const state = stateOf(gateway, 'kept');
    state.report(failure);
    state.report({ ...failure, outcome: 'response', status: 200, headersMs: 12 });
    state.available = false;
    const heard: string[] = [];
    state.onOutcome((r) => heard.push(r.outcome));
    const timer = state.setInterval(() => {}, 60_000);

    gateway.reload(config({ kept: origins[0]!, added: origins[1]! }));
    assert.equal(stateOf(gateway, 'kept'), state, 'the same TargetState object');
    assert.deepEqual([state.attempts, state.failures, state.latencyEwmaMs, state.available], [2, 1, 12, false]);
    assert.deepEqual(state.recentOutcomes(), ['reset', 'response']);
    assert.equal(state.disposed, false);
    assert.equal(state.timers, 1, 'its timers keep running');
    state.report(failure);
    assert.deepEqual(heard, ['reset'], 'its listeners keep listening');
    assert.equal(gateway.targets.size, 2);
    state.clearTimer(timer);
    await gateway.close();
  });

  it('disposes of a removed target\'s state, timers included, once the old runtime has drained', async () => {
    const gateway = new Gateway(config({ kept: origins[0]!, removed: origins[1]! }), createLogger('silent'));
    const removed = stateOf(gateway, 'removed');
    let ticks = 0;
    removed.setTimer(() => ticks++, 60_000);
    removed.setInterval(() => ticks++, 60_000);
    const old = gateway.runtime;
    old.enter();

    gateway.reload(config({ kept: origins[0]! }));
    assert.equal(removed.disposed, false, 'the old runtime still has a request in flight');
    assert.equal(removed.timers, 2);
    assert.equal(gateway.targets.size, 2);

    old.leave();
    assert.equal(removed.disposed, true);
    assert.equal(removed.timers, 0);
    assert.equal(gateway.targets.size, 1);
    assert.equal(stateOf(gateway, 'kept').disposed, false);
    assert.equal(ticks, 0);
    await gateway.close();
  });

  it('keys state by upstream and URL: the same URL under another upstream name starts afresh', async () => {
    const gateway = new Gateway(config({ first: origins[0]! }), createLogger('silent'));
    const first = stateOf(gateway, 'first');
    first.report(failure);
    gateway.reload(config({ second: origins[0]! }));
    const second = stateOf(gateway, 'second');
    assert.notEqual(second, first);
    assert.equal(second.attempts, 0);
    assert.equal(first.disposed, true, 'nothing was in flight on the old runtime');
    await gateway.close();
  });

  it('disposes of every state on close', async () => {
    const gateway = new Gateway(config({ a: origins[0]!, b: origins[1]! }), createLogger('silent'));
    const states = [stateOf(gateway, 'a'), stateOf(gateway, 'b')];
    for (const state of states) state.setInterval(() => {}, 60_000);
    await gateway.close();
    assert.deepEqual(states.map((s) => [s.disposed, s.timers]), [[true, 0], [true, 0]]);
    assert.equal(gateway.targets.size, 0);
  });
});

describe('the shared Redis connection', () => {
  const withRedis = (keyPrefix: string): Config => configSchema.parse({
    log: { level: 'silent', access: { enabled: false } },
    upstreams: { a: { targets: [{ url: origins[0] }] } },
    routes: [{ name: 'a', match: { path: '/a' }, upstream: 'a' }],
    // Nothing listens on port 1: the connection is made but never used, which is all a lease needs.
    redis: { url: 'redis://127.0.0.1:1', keyPrefix },
  });

  it('is kept by a reload that keeps the redis section, replaced when it changes, and closed with the gateway', async () => {
    const gateway = new Gateway(withRedis('a:'), createLogger('silent'));
    const first = gateway.runtime.redis!;
    assert.ok(first);
    assert.equal(first.closed, false);
    gateway.reload(withRedis('a:'));
    assert.equal(gateway.runtime.redis, first);
    gateway.reload(withRedis('b:'));
    assert.notEqual(gateway.runtime.redis, first);
    await until(() => first.closed, 'the old connection is closed once its runtime has drained');
    const second = gateway.runtime.redis!;
    await gateway.close();
    await until(() => second.closed, 'closing the gateway closes the connection');
  });
});

describe('liveStats.enabled', () => {
  const withLive = (enabled: boolean): Config => configSchema.parse({
    log: { level: 'silent', access: { enabled: false } },
    liveStats: { enabled },
    upstreams: { a: { targets: [{ url: origins[0] }] } },
    routes: [{ name: 'a', match: { path: '/a' }, upstream: 'a' }],
  });

  it('registers the live-stats finish hook only when on', async () => {
    const on = new Gateway(withLive(true), createLogger('silent'));
    const off = new Gateway(withLive(false), createLogger('silent'));
    assert.equal(off.finishHooks.size, on.finishHooks.size - 1);
    await Promise.all([on.close(), off.close()]);
  });

  it('is required by alert rules: a config with rules and live stats off is refused at alerts.rules', () => {
    const result = configSchema.safeParse({
      liveStats: { enabled: false },
      upstreams: { a: { targets: [{ url: 'http://127.0.0.1:1' }] } },
      routes: [{ name: 'a', match: { path: '/a' }, upstream: 'a' }],
      alerts: { rules: [{ name: 'slow', signal: 'p95', above: '500ms' }] },
    });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues.map((i) => i.path.join('.')), ['alerts.rules']);
  });
});
