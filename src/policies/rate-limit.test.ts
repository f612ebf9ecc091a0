import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createLogger } from '../observability/logger.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { ResponseHead } from '../pipeline/response-head.ts';
import type { PolicyDeps } from '../pipeline/policy.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange, type ExchangeInit } from '../../test/helpers/policy-harness.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { formatProblem, loadConfigText } from '../config/load.ts';
import { createRateLimit, rateLimit, schema } from './rate-limit.ts';
import type { Limiter } from './rate-limit/limiter.ts';

const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

/** A fake monotonic clock, ms. */
function fakeClock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

function limiterOf(cfg: unknown, clock: () => number, deps: Partial<PolicyDeps> = {}): Limiter {
  return createRateLimit(schema.parse(cfg), { log: createLogger('silent'), shared: new SharedResources(), ...deps }, clock);
}

/** The request phase, then the response phase on the answer (200 from the upstream when admitted). */
function send(policy: Limiter, init: Partial<ExchangeInit> = {}): { out: LocalReply | undefined; head: ResponseHead; ex: Exchange } {
  const ex = testExchange(init);
  const out = policy.onRequest(ex) as LocalReply | undefined;
  const head = new ResponseHead(out?.status ?? 200, out?.headers ? Object.entries(out.headers).flat() : []);
  policy.onResponse(ex, head);
  return { out, head, ex };
}

function admitted(policy: Limiter, tries: number, init: Partial<ExchangeInit> = {}): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (send(policy, init).out === undefined) n++;
  return n;
}

const perIp = (limit: number, window = '1m', burst?: number) => ({ limits: [{ name: 'per-client', key: 'ip', limit, window, burst }] });

describe('rate-limit schema', () => {
  it('fills in the defaults and accepts the issue\'s example', () => {
    assert.deepEqual(schema.parse(perIp(100)), { store: 'memory', headers: true, limits: [{ name: 'per-client', key: 'ip', limit: 100, window: 60_000, burst: undefined }] });
    const parsed = schema.parse({
      store: 'redis', onStoreError: 'local', instances: 3, headers: true,
      limits: [
        { name: 'per-client', key: 'ip', limit: 100, window: '1m', burst: 20 },
        { name: 'per-consumer', key: 'consumer', limit: 5000, window: '1h' },
        { name: 'everyone', key: 'global', limit: 2000, window: '1s' },
        { name: 'tenant', key: 'claim:tenant_id', limit: 10, window: '1s' },
        { name: 'by-key', key: 'header:x-api-key', limit: 10, window: '1s' },
        { name: 'per-route', key: 'route', limit: 10, window: '24h' },
      ],
    });
    assert.equal(parsed.limits.length, 6);
  });

  it('refuses bad limits at their path', () => {
    const one = (limit: Record<string, unknown>) => issues({ limits: [{ name: 'a', key: 'ip', limit: 1, window: '1s', ...limit }] }).map((i) => i.path.join('.'));
    assert.deepEqual(one({ limit: 0 }), ['limits.0.limit']);
    assert.deepEqual(one({ limit: 1.5 }), ['limits.0.limit']);
    assert.deepEqual(one({ window: '0s' }), ['limits.0.window']);
    assert.deepEqual(one({ window: 'soon' }), ['limits.0.window']);
    assert.deepEqual(one({ burst: 0 }), ['limits.0.burst']);
    // Finer than one token per microsecond is more than Redis' microsecond clock can count.
    assert.deepEqual(one({ limit: 1_000_001, window: '1s' }), ['limits.0.limit']);
    assert.deepEqual(one({ limit: 1_000_000, window: '1s' }), []);
    assert.deepEqual(one({ name: 'has space' }), ['limits.0.name']);
    for (const key of ['IP', 'user', 'header:', 'header:X-Api-Key', 'header:a b', 'claim:', 'claim:a:b', 'global:x']) assert.deepEqual(one({ key }), ['limits.0.key'], key);
    assert.deepEqual(one({ extra: 1 }), ['limits.0']);
    assert.deepEqual(issues({ limits: [] }).map((i) => i.path.join('.')), ['limits']);
    assert.deepEqual(issues({}).map((i) => i.path.join('.')), ['limits']);
  });

  it('refuses two limits with one name in a policy, and redis-only settings with store: memory', () => {
    const twice = issues({ limits: [{ name: 'a', key: 'ip', limit: 1, window: '1s' }, { name: 'a', key: 'global', limit: 1, window: '1s' }] });
    assert.deepEqual(twice.map((i) => i.path.join('.')), ['limits.1.name']);
    assert.match(twice[0]!.message, /second limit named "a"/);
    assert.deepEqual(issues({ ...perIp(1), onStoreError: 'fail-open' }).map((i) => i.path.join('.')), ['onStoreError']);
    assert.deepEqual(issues({ ...perIp(1), store: 'memory', instances: 2 }).map((i) => i.path.join('.')), ['instances']);
    assert.deepEqual(issues({ ...perIp(1), store: 'disk' }).map((i) => i.path.join('.')), ['store']);
  });

  it('is registered after auth and before header-transform, and adds to the inherited one', () => {
    assert.equal(rateLimit.priority, 900);
    assert.equal(rateLimit.addsToInherited, true);
  });
});

describe('rate-limit in memory', () => {
  it('admits the burst, then refuses with 429 rate_limited, Retry-After and the RateLimit headers', () => {
    const clock = fakeClock();
    const policy = limiterOf(perIp(100, '1m', 20), clock.now);
    const first = send(policy);
    assert.equal(first.out, undefined);
    assert.equal(first.head.get('ratelimit-policy'), '"per-client";q=100;w=60');
    assert.equal(first.head.get('ratelimit'), '"per-client";r=19;t=1');
    assert.equal(admitted(policy, 30), 19);
    const refused = send(policy);
    assert.equal(refused.out?.status, 429);
    assert.equal(refused.out?.reason, 'rate_limited');
    assert.equal(refused.head.get('retry-after'), '1', '0.6 s until the next token, rounded up');
    assert.equal(refused.head.get('ratelimit-policy'), '"per-client";q=100;w=60');
    assert.equal(refused.head.get('ratelimit'), '"per-client";r=0;t=12', '20 tokens × 0.6 s to be full again');
    clock.advance(600);
    assert.equal(admitted(policy, 5), 1, 'one token back after window / limit');
    assert.deepEqual(policy.stats, { admitted: 21, refused: 16, degraded: 0 });
  });

  it('rounds Retry-After up to whole seconds', () => {
    const clock = fakeClock();
    const policy = limiterOf(perIp(2, '5s'), clock.now);
    assert.equal(admitted(policy, 2), 2);
    assert.equal(send(policy).head.get('retry-after'), '3', '2.5 s');
    clock.advance(2400);
    assert.equal(send(policy).head.get('retry-after'), '1', '0.1 s');
    clock.advance(100);
    assert.equal(send(policy).out, undefined);
  });

  it('names the limit closest to refusing, and the refusing limit with the longest wait', () => {
    const clock = fakeClock();
    const policy = limiterOf({
      limits: [{ name: 'wide', key: 'ip', limit: 100, window: '1m' }, { name: 'narrow', key: 'global', limit: 3, window: '1m' }],
    }, clock.now);
    assert.equal(send(policy).head.get('ratelimit'), '"narrow";r=2;t=20');
    assert.equal(admitted(policy, 2), 2);
    const refused = send(policy);
    assert.equal(refused.head.get('ratelimit-policy'), '"narrow";q=3;w=60');
    assert.equal(refused.head.get('retry-after'), '20');
    // The refusal took nothing from "wide": after the narrow limit refills, wide has 97 left (3 taken).
    clock.advance(60_000);
    const again = limiterOf({ limits: [{ name: 'wide', key: 'ip', limit: 100, window: '1m' }] }, clock.now);
    assert.equal(send(again).head.get('ratelimit'), '"wide";r=99;t=1', 'a new policy with its own store starts full');
  });

  it('sends the headers on refusals only with headers: false', () => {
    const policy = limiterOf({ ...perIp(1), headers: false }, fakeClock().now);
    const ok = send(policy);
    assert.equal(ok.head.get('ratelimit'), undefined);
    assert.equal(ok.head.get('ratelimit-policy'), undefined);
    const refused = send(policy);
    assert.equal(refused.head.get('ratelimit'), '"per-client";r=0;t=60');
  });

  it('counts by client IP with key ip, and clients do not share buckets', () => {
    const policy = limiterOf(perIp(2), fakeClock().now);
    assert.equal(admitted(policy, 5, { clientIp: '10.0.0.1' }), 2);
    assert.equal(admitted(policy, 5, { clientIp: '10.0.0.2' }), 2);
    assert.equal(admitted(policy, 5, { clientIp: '2001:db8::1' }), 2);
  });

  it('counts by consumer, else subject, else the client IP (never together with consumers)', () => {
    const policy = limiterOf({ limits: [{ name: 'c', key: 'consumer', limit: 2, window: '1m' }] }, fakeClock().now);
    const as = (identity: Exchange['identity'], clientIp = '10.0.0.1') => {
      let n = 0;
      for (let i = 0; i < 5; i++) {
        const ex = testExchange({ clientIp });
        ex.identity = identity;
        if (policy.onRequest(ex) === undefined) n++;
      }
      return n;
    };
    assert.equal(as({ consumer: 'alice' }), 2);
    assert.equal(as({ consumer: 'alice' }, '10.0.0.9'), 0, 'alice from another IP is still alice');
    assert.equal(as({ subject: 'user-7' }), 2);
    assert.equal(as({ consumer: 'bob', subject: 'user-7' }), 2, 'the consumer wins over the subject');
    assert.equal(as(undefined), 2, 'anonymous: by client IP');
    assert.equal(as({ consumer: '' }), 0, 'an empty consumer is counted by its IP: the same bucket as the anonymous request from there');
    assert.equal(as(undefined, '10.0.0.2'), 2);
    assert.equal(as({ consumer: '10.0.0.3' }), 2);
    assert.equal(as(undefined, '10.0.0.3'), 2, 'a consumer named like an IP does not share that IP\'s bucket');
  });

  it('counts by header and by claim, and an absent or empty value by the client IP', () => {
    const policy = limiterOf({ limits: [{ name: 'h', key: 'header:x-api-key', limit: 1, window: '1m' }, { name: 'c', key: 'claim:tenant', limit: 2, window: '1m' }] }, fakeClock().now);
    const sendAs = (headers: Record<string, string>, claims: Record<string, unknown> | undefined, clientIp = '10.0.0.1') => {
      const ex = testExchange({ headers, clientIp });
      if (claims) ex.identity = { subject: 's', claims };
      return policy.onRequest(ex) === undefined;
    };
    assert.equal(sendAs({ 'x-api-key': 'k1' }, { tenant: 't1' }), true);
    assert.equal(sendAs({ 'x-api-key': 'k1' }, { tenant: 't2' }), false, 'header bucket k1 is empty');
    assert.equal(sendAs({ 'x-api-key': 'k2' }, { tenant: 't1' }), true);
    assert.equal(sendAs({ 'x-api-key': 'k3' }, { tenant: 't1' }), false, 'claim bucket t1 is empty');
    assert.equal(sendAs({ 'x-api-key': 'k4' }, { tenant: 42 }), true, 'a numeric claim counts as its text');
    assert.equal(sendAs({}, { tenant: 't3' }), true, 'no header: by IP 10.0.0.1');
    assert.equal(sendAs({ 'x-api-key': '' }, { tenant: 't4' }), false, 'an empty header is the same IP bucket, now empty');
    assert.equal(sendAs({ 'x-api-key': '' }, { tenant: 't4' }, '10.0.0.2'), true, 'another IP, another bucket');
    assert.equal(sendAs({ 'x-api-key': 'k5' }, { tenant: { nested: true } }, '10.0.0.3'), true, 'an object claim: by IP');
    assert.equal(sendAs({ 'x-api-key': 'k6' }, undefined, '10.0.0.3'), true, 'no claims: by IP 10.0.0.3 (1 of 2)');
    assert.equal(sendAs({ 'x-api-key': 'k7' }, undefined, '10.0.0.3'), false);
  });

  it('hashes a very long key value, so one client cannot make huge bucket keys', () => {
    const policy = limiterOf({ limits: [{ name: 'h', key: 'header:x-api-key', limit: 1, window: '1m' }] }, fakeClock().now);
    const long = 'k'.repeat(10_000);
    assert.equal(send(policy, { headers: { 'x-api-key': long } }).out, undefined);
    assert.equal(send(policy, { headers: { 'x-api-key': long } }).out?.status, 429);
    assert.equal(send(policy, { headers: { 'x-api-key': `${long}x` } }).out, undefined);
  });

  it('keeps one bucket per route with key route, and one for everyone with key global', () => {
    const policy = limiterOf({ limits: [{ name: 'r', key: 'route', limit: 1, window: '1m' }] }, fakeClock().now);
    assert.equal(admitted(policy, 3, { route: 'a', clientIp: '10.0.0.1' }), 1);
    assert.equal(admitted(policy, 3, { route: 'a', clientIp: '10.0.0.2' }), 0);
    assert.equal(admitted(policy, 3, { route: 'b' }), 1);
    const global = limiterOf({ limits: [{ name: 'g', key: 'global', limit: 2, window: '1m' }] }, fakeClock().now);
    assert.equal(admitted(global, 2, { clientIp: '10.0.0.1' }) + admitted(global, 2, { clientIp: '10.0.0.2' }), 2);
  });

  it('keeps its buckets across a reload: a new policy with the same identity shares them', () => {
    const shared = new SharedResources();
    const clock = fakeClock();
    const old = limiterOf(perIp(3), clock.now, { shared });
    assert.equal(admitted(old, 2), 2);
    const next = limiterOf(perIp(3), clock.now, { shared }); // the new runtime builds before the old one closes
    old.close();
    assert.equal(admitted(next, 5), 1);
    const otherRoute = limiterOf(perIp(3), clock.now, { shared, scope: 'orders' });
    assert.equal(admitted(otherRoute, 5), 3, 'a route\'s own limit of the same name has buckets of its own');
    next.close();
    otherRoute.close();
    assert.equal(shared.size, 0, 'the last close releases the buckets');
  });

  it('with a gateway-wide policy inherited, enforces both and a refusal by one takes nothing from the other', () => {
    const shared = new SharedResources();
    const clock = fakeClock();
    const inherited = schema.parse(perIp(5));
    const gateway = limiterOf(perIp(5), clock.now, { shared });
    const route = limiterOf({ limits: [{ name: 'orders', key: 'ip', limit: 2, window: '1m' }] }, clock.now, { shared, scope: 'orders', inherited });
    assert.equal(admitted(route, 5), 2);
    assert.equal(send(route).head.get('ratelimit-policy'), '"orders";q=2;w=60');
    assert.equal(admitted(gateway, 10), 3, 'the route took 2 of the shared 5; its 4 refusals took none');
  });

  it('logs the per-worker limits when workers > 1', () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
    limiterOf(perIp(100), fakeClock().now, { log, workers: 4 }).close();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /each limit applies per worker process/);
    assert.match(lines[0]!, /per-client 100\/60000ms/);
    limiterOf(perIp(100), fakeClock().now, { log, workers: 1 }).close();
    assert.equal(lines.length, 1);
  });
});

describe('rate-limit in a config file', () => {
  const BASE = `upstreams:
  u:
    targets: [{ url: "http://127.0.0.1:7001" }]
routes:
  - name: orders
    match: { path: /orders }
    upstream: u
`;
  const problems = (text: string) => {
    const result = loadConfigText(text, 'gw.yaml', {});
    assert.equal(result.ok, false, 'expected the config to be rejected');
    return result.ok ? [] : result.problems.map(formatProblem);
  };

  it('refuses store: redis without a redis: section, at the store key\'s line', () => {
    const text = `${BASE}    policies:
      - type: rate-limit
        store: redis
        limits: [{ name: a, key: ip, limit: 1, window: 1s }]
`;
    const found = problems(text);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^gw\.yaml:10:16 routes\[0\]\.policies\[0\]\.store: store: redis needs a top-level redis: section/);
  });

  it('refuses bad limits at their line and path', () => {
    const text = `${BASE}    policies:
      - type: rate-limit
        limits:
          - { name: a, key: ip, limit: 0, window: 1s }
          - { name: a, key: "header:X Y", limit: 1, window: 0s, burst: 0 }
`;
    assert.deepEqual(problems(text).map((p) => p.replace(/: .*$/, '')), [
      'gw.yaml:11:40 routes[0].policies[0].limits[0].limit',
      'gw.yaml:12:21 routes[0].policies[0].limits[1].name',
      'gw.yaml:12:29 routes[0].policies[0].limits[1].key',
      'gw.yaml:12:61 routes[0].policies[0].limits[1].window',
      'gw.yaml:12:72 routes[0].policies[0].limits[1].burst',
    ]);
  });

  it('refuses a route\'s rate-limit whose store differs from the inherited one, unless the route does not inherit', () => {
    const gatewayWide = `redis: { url: "redis://127.0.0.1:6379" }
policies:
  - type: rate-limit
    store: redis
    limits: [{ name: all, key: ip, limit: 100, window: 1m }]
`;
    const own = `    policies:
      - type: rate-limit
        limits: [{ name: a, key: ip, limit: 1, window: 1s }]
`;
    const found = problems(`${gatewayWide}${BASE}${own}`);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^gw\.yaml:\d+:\d+ routes\[0\]\.policies\[0\]\.store: this rate-limit adds to the gateway-wide one \(store: redis\)/);
    const result = loadConfigText(`${gatewayWide}${BASE}    inheritPolicies: false\n${own}`, 'gw.yaml', {});
    assert.equal(result.ok, true);
  });
});
