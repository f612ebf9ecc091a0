/**
 * The rate limiter against a real redis-server started here: the script's atomic check-all-then-take-all,
 * keys and TTLs, NOSCRIPT, and every onStoreError mode while Redis is stopped, frozen (SIGSTOP) or silent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../observability/logger.ts';
import { SharedResources } from '../../leases/shared-resources.ts';
import type { LocalReply } from '../../pipeline/local-reply.ts';
import { ResponseHead } from '../../pipeline/response-head.ts';
import type { Logger } from '../../observability/logger.ts';
import { redisSchema } from '../../redis/redis-schema.ts';
import { SharedRedis } from '../../redis/shared-redis.ts';
import { Heartbeat } from '../../redis/heartbeat.ts';
import { configSchema } from '../../config/schema.ts';
import { buildRoutePolicies } from '../../runtime/route-policies.ts';
import { startRedis, silentServer, type RedisServer } from '../../../test/helpers/redis-server.ts';
import { testExchange, type ExchangeInit } from '../../../test/helpers/policy-harness.ts';
import { createRateLimit, schema } from '../rate-limit.ts';
import type { Limiter } from './limiter.ts';

const silent = createLogger('silent');

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connect(url: string, keyPrefix = 'gatehouse:', commandTimeout = '1s'): SharedRedis {
  return new SharedRedis(redisSchema.parse({ url, keyPrefix, commandTimeout }), silent);
}

function limiterOf(cfg: unknown, redis: SharedRedis, extra: { shared?: SharedResources; log?: Logger; scope?: string; workers?: number } = {}): Limiter {
  return createRateLimit(schema.parse({ store: 'redis', ...(cfg as object) }), { log: silent, shared: new SharedResources(), redis, ...extra });
}

async function send(policy: Limiter, init: Partial<ExchangeInit> = {}) {
  const ex = testExchange(init);
  const out = (await policy.onRequest(ex)) as LocalReply | undefined;
  const head = new ResponseHead(out?.status ?? 200, out?.headers ? Object.entries(out.headers).flat() : []);
  policy.onResponse(ex, head);
  return { out, head };
}

async function admitted(policy: Limiter, tries: number, init: Partial<ExchangeInit> = {}): Promise<number> {
  let n = 0;
  for (let i = 0; i < tries; i++) if ((await send(policy, init)).out === undefined) n++;
  return n;
}

const perIp = (limit: number, window = '1h', extra: object = {}) => ({ ...extra, limits: [{ name: 'per-client', key: 'ip', limit, window }] });

describe('rate-limit in Redis', () => {
  let server: RedisServer;
  let raw: Redis;
  before(async () => {
    server = await startRedis();
    raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await raw.connect();
  });
  after(async () => {
    raw.disconnect();
    await server.stop();
  });

  it('admits exactly the burst across two connections, keeps one prefixed key per bucket with a TTL of the full refill', async () => {
    const a = connect(server.url, 't1:');
    const b = connect(server.url, 't1:');
    try {
      await until(() => a.ready && b.ready);
      const pa = limiterOf(perIp(10, '1h'), a);
      const pb = limiterOf(perIp(10, '1h'), b);
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 ? pa : pb)));
      assert.equal(outcomes.filter((o) => o.out === undefined).length, 10);
      assert.deepEqual(await raw.keys('t1:rl:*'), ['t1:rl:*:per-client:ip:127.0.0.1']);
      const ttl = await raw.pttl('t1:rl:*:per-client:ip:127.0.0.1');
      assert.ok(ttl > 3_590_000 && ttl <= 3_600_000, `ttl ${ttl}: ten tokens of 6 minutes`);
      const refused = outcomes.find((o) => o.out !== undefined)!;
      assert.equal(refused.out?.reason, 'rate_limited');
      assert.equal(refused.head.get('retry-after'), '360');
      assert.equal(refused.head.get('ratelimit'), '"per-client";r=0;t=3600');
      assert.equal(refused.head.get('ratelimit-policy'), '"per-client";q=10;w=3600');
      assert.deepEqual(pa.stats.degraded + pb.stats.degraded, 0);
      pa.close();
      pb.close();
    } finally {
      a.close();
      b.close();
    }
  });

  it('checks all limits, then takes from all or none, and loads the script again after SCRIPT FLUSH', async () => {
    const redis = connect(server.url, 't2:');
    try {
      await until(() => redis.ready);
      const policy = limiterOf({ limits: [{ name: 'wide', key: 'ip', limit: 5, window: '1h' }, { name: 'narrow', key: 'global', limit: 2, window: '1h' }] }, redis);
      assert.equal(await admitted(policy, 6), 2);
      await raw.script('FLUSH');
      const wideOnly = limiterOf({ limits: [{ name: 'wide', key: 'ip', limit: 5, window: '1h' }] }, redis);
      assert.equal(await admitted(wideOnly, 10), 3, 'the 4 refusals took nothing from "wide"');
      assert.equal(wideOnly.stats.degraded, 0, 'NOSCRIPT was answered by sending the script again');
      policy.close();
      wideOnly.close();
    } finally {
      redis.close();
    }
  });

  it('counts a script error as a Redis failure', async () => {
    const redis = connect(server.url, 't4:');
    try {
      await until(() => redis.ready);
      await raw.lpush('t4:rl:*:per-client:ip:127.0.0.1', 'not a bucket');
      const lines: string[] = [];
      const log = pino(new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
      const policy = limiterOf(perIp(50, '1h', { onStoreError: 'fail-closed' }), redis, { log });
      const { out } = await send(policy);
      assert.equal(out?.reason, 'rate_limit_unavailable', 'GET on a list fails the script (WRONGTYPE)');
      assert.equal(policy.stats.degraded, 1);
      assert.equal((await send(policy, { clientIp: '10.0.0.1' })).out, undefined, 'other buckets are fine');
      // A key that fails one request in two must not log two lines a request.
      for (let i = 0; i < 10; i++) {
        await send(policy);
        await send(policy, { clientIp: '10.0.0.1' });
      }
      assert.equal(policy.stats.degraded, 11);
      assert.deepEqual(lines.map((l) => JSON.parse(l).msg), [
        'rate-limit: redis failed; deciding without it (fail-closed) until it answers again',
        'rate-limit: redis answers again; limits are shared again',
      ]);
      policy.close();
    } finally {
      redis.close();
    }
  });

  it('shares gateway-wide buckets across routes and adds a route\'s own limits to them', async () => {
    const redis = connect(server.url, 't3:');
    try {
      await until(() => redis.ready);
      const limit = (name: string, n: number) => ({ type: 'rate-limit', store: 'redis', limits: [{ name, key: 'ip', limit: n, window: '1h' }] });
      const config = configSchema.parse({
        redis: { url: server.url },
        upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } },
        policies: [limit('everywhere', 5)],
        routes: [
          { name: 'plain', match: { path: '/a' }, upstream: 'u' },
          { name: 'orders', match: { path: '/c' }, upstream: 'u', policies: [limit('orders', 2)] },
        ],
      });
      const built = buildRoutePolicies(config, { log: silent, shared: new SharedResources(), redis });
      const policyOf = (name: string) => built.chainFor(config.routes.find((r) => r.name === name)!).policies[0]!.policy as Limiter;
      assert.equal(await admitted(policyOf('orders'), 5), 2);
      assert.equal(await admitted(policyOf('plain'), 5), 3, 'the route took 2 of the shared 5');
      assert.deepEqual((await raw.keys('t3:rl:*')).sort(), ['t3:rl:*:everywhere:ip:127.0.0.1', 't3:rl:orders:orders:ip:127.0.0.1']);
      built.close();
    } finally {
      redis.close();
    }
  });
});

describe('rate-limit while Redis fails', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of ['fail-open', 'fail-closed', 'local'] as const) {
    it(`${mode}: decides as configured while Redis is down, then shares counts again once it is back`, async () => {
      if (server.pid === undefined) await server.start();
      const a = connect(server.url, `down-${mode}:`);
      const b = connect(server.url, `down-${mode}:`);
      const lines: string[] = [];
      const log = pino(new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
      try {
        await until(() => a.ready && b.ready);
        const pa = limiterOf(perIp(4, '1h', { onStoreError: mode, instances: 2 }), a, { log });
        const pb = limiterOf(perIp(4, '1h', { onStoreError: mode }), b);
        assert.equal(await admitted(pa, 1), 1);
        await server.stop();
        await until(() => !a.ready && !b.ready);
        const down = await Promise.all(Array.from({ length: 6 }, () => send(pa)));
        const admittedDown = down.filter((o) => o.out === undefined).length;
        if (mode === 'fail-open') assert.equal(admittedDown, 6);
        if (mode === 'fail-closed') {
          assert.equal(admittedDown, 0);
          assert.deepEqual(new Set(down.map((o) => `${o.out?.status} ${o.out?.reason}`)), new Set(['503 rate_limit_unavailable']));
        }
        // The heartbeat saw one live instance (this process) before Redis went: that count wins over `instances: 2`.
        if (mode === 'local') assert.equal(admittedDown, 4, 'limit 4 / (1 live instance × 1 worker), in memory');
        assert.equal(pa.stats.degraded, 6);
        assert.equal(lines.filter((l) => l.includes('redis failed')).length, 1, 'the first degraded decision is logged, once');

        await server.start();
        await until(() => a.ready && b.ready);
        // A fresh Redis (nothing was saved): 4 tokens shared by both connections again.
        const back = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i % 2 ? pa : pb)));
        assert.equal(back.filter((o) => o.out === undefined).length, 4);
        assert.equal(pa.stats.degraded, 6, 'Redis is used again, with no restart');
        assert.equal(lines.filter((l) => l.includes('limits are shared again')).length, 1, 'the recovery is logged');
        pa.close();
        pb.close();
      } finally {
        a.close();
        b.close();
      }
    });
  }

  it('local: divides by the live instances the heartbeats last saw, and by the workers', async () => {
    const redis = connect(server.url, 'hb:');
    const other = connect(server.url, 'hb:');
    try {
      await until(() => redis.ready && other.ready);
      const shared = new SharedResources();
      const policy = limiterOf(perIp(12, '1h', { onStoreError: 'local', instances: 6 }), redis, { shared, workers: 2 });
      const elsewhere = new Heartbeat(other, { member: 'other-host:1' });
      await elsewhere.beat();
      const heartbeat = shared.values().find((v): v is Heartbeat => v instanceof Heartbeat)!;
      await heartbeat.beat();
      assert.equal(heartbeat.liveInstances, 2);
      await server.stop();
      await until(() => !redis.ready);
      assert.equal(await admitted(policy, 10), 3, '12 / (2 live instances × 2 workers), not / (6 configured × 2)');
      elsewhere.close();
      policy.close();
      assert.equal(shared.size, 0, 'closing the policy stops the heartbeat and releases the buckets');
      await server.start();
    } finally {
      redis.close();
      other.close();
    }
  });

  it('local: divides by `instances` before any heartbeat was seen', async () => {
    const nowhere = connect('redis://127.0.0.1:1');
    const policy = limiterOf(perIp(12, '1h', { onStoreError: 'local', instances: 3 }), nowhere);
    assert.equal(await admitted(policy, 10), 4);
    policy.close();
    nowhere.close();
  });

  it('logs the first degraded decision, then at most one summary line every 10 s', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
    const nowhere = connect('redis://127.0.0.1:1');
    let now = 0;
    const policy = createRateLimit(schema.parse({ store: 'redis', onStoreError: 'fail-open', ...perIp(1) }), { log, shared: new SharedResources(), redis: nowhere }, () => now);
    try {
      for (let i = 0; i < 50; i++) policy.onRequest(testExchange());
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /redis failed; deciding without it \(fail-open\)/);
      now = 9_999;
      policy.onRequest(testExchange());
      assert.equal(lines.length, 1);
      now = 10_000;
      policy.onRequest(testExchange());
      assert.equal(lines.length, 2);
      assert.equal(JSON.parse(lines[1]!).degraded, 51, 'every degraded decision after the first is in the summary');
      for (let i = 0; i < 20; i++) policy.onRequest(testExchange());
      assert.equal(lines.length, 2);
      assert.equal(policy.stats.degraded, 72);
    } finally {
      policy.close();
      nowhere.close();
    }
  });

  it('a Redis that accepts connections and never answers holds no request', async () => {
    const hang = await silentServer();
    const redis = connect(hang.url, 'silent:', '50ms');
    try {
      const policy = limiterOf(perIp(1, '1h', { onStoreError: 'fail-open' }), redis);
      // Never ready: the answer comes without asking Redis at all, synchronously.
      const outcomes = Array.from({ length: 20 }, () => policy.onRequest(testExchange()));
      assert.ok(outcomes.every((o) => o === undefined));
      assert.equal(policy.stats.degraded, 20);
      policy.close();
    } finally {
      redis.close();
      await hang.close();
    }
  });

  it('a Redis that stops answering after it was ready holds a request only for commandTimeout', async () => {
    const redis = connect(server.url, 'frozen:', '200ms');
    try {
      await until(() => redis.ready);
      const policy = limiterOf(perIp(1, '1h', { onStoreError: 'fail-closed' }), redis);
      assert.equal((await send(policy)).out, undefined);
      process.kill(server.pid!, 'SIGSTOP');
      try {
        // Each request is sent to Redis and fails when commandTimeout passes: all of them settle while
        // Redis is still frozen (it is only thawed after this), so none waits on Redis itself.
        const started = performance.now();
        const frozen = await Promise.all(Array.from({ length: 10 }, () => send(policy)));
        const waited = performance.now() - started;
        assert.deepEqual(new Set(frozen.map((o) => o.out?.reason)), new Set(['rate_limit_unavailable']));
        assert.equal(policy.stats.degraded, 10);
        assert.ok(waited < 5000, `settled by the command timeout's order of magnitude (${Math.round(waited)} ms)`);
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      await until(() => redis.ready);
      policy.close();
    } finally {
      redis.close();
    }
  });
});
