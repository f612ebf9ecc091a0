/**
 * rate-limit end to end: real gateways, real upstreams and a real redis-server started here.
 * - in one process: the answers and headers over HTTP, the add rule for a route's own limit, buckets kept
 *   across a reload, CORS exposing the headers;
 * - 2 and then 4 Gatehouse processes sharing one Redis admit exactly `limit` of 10,000 requests;
 * - Redis stopped mid-run under a running gateway, then started again.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import type { ConfigInput } from '../../src/config/schema.ts';
import { get, killIfRunning, request } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { spawnGateway, startGateway, tempDir, testConfig, type SpawnedGateway, type TestGateway } from '../helpers/start-gateway.ts';

let upstream: FakeUpstream;
before(async () => {
  upstream = await startUpstream(echo('u'));
});
after(async () => {
  await upstream.close();
});

const limit = (name: string, key: string, n: number, window = '1m', extra: object = {}) => ({ type: 'rate-limit', ...extra, limits: [{ name, key, limit: n, window }] });

describe('rate-limit in one gateway (memory store)', () => {
  let gw: TestGateway;
  const config = (extraRoutes: ConfigInput['routes'] = []) => ({
    upstreams: { u: { targets: [{ url: upstream.url }] } },
    policies: [limit('per-client', 'ip', 5)],
    routes: [
      { name: 'plain', match: { path: '/plain' }, upstream: 'u' },
      { name: 'orders', match: { path: '/orders' }, upstream: 'u', policies: [limit('orders', 'ip', 2)] },
      { name: 'browser', match: { path: '/browser' }, upstream: 'u', inheritPolicies: false, policies: [{ type: 'cors', origins: ['https://app.test'] }, limit('b', 'global', 1)] },
      ...extraRoutes,
    ],
  });
  before(async () => {
    gw = await startGateway(config());
  });
  after(async () => {
    await gw.close();
  });

  it('answers 429 rate_limited with Retry-After and the RateLimit headers; a route\'s own limit adds to the gateway-wide one', async () => {
    const first = await get(`${gw.url}/orders`);
    assert.equal(first.status, 200);
    assert.equal(first.headers['ratelimit-policy'], '"orders";q=2;w=60');
    assert.equal(first.headers['ratelimit'], '"orders";r=1;t=30');
    assert.equal((await get(`${gw.url}/orders`)).status, 200);
    const refused = await get(`${gw.url}/orders`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '30', 'one token per 30 s');
    assert.equal(refused.headers['ratelimit'], '"orders";r=0;t=60');
    assert.equal(JSON.parse(refused.body).error.reason, 'rate_limited');
    // The gateway-wide 5 per client: 2 went to /orders (its refusal took none), 3 are left for /plain.
    const plain = [];
    for (let i = 0; i < 4; i++) plain.push(await get(`${gw.url}/plain`));
    assert.deepEqual(plain.map((a) => a.status), [200, 200, 200, 429]);
    assert.equal(plain[0]!.headers['ratelimit'], '"per-client";r=2;t=36');
    assert.equal(plain[3]!.headers['ratelimit-policy'], '"per-client";q=5;w=60');
    const line = gw.accessLog().find((l) => l.path === '/plain' && l.status === 429);
    assert.equal(line?.reason, 'rate_limited');
  });

  it('keeps the buckets across a reload', async () => {
    gw.instance.reload(testConfig(config([{ name: 'new', match: { path: '/new' }, upstream: 'u', inheritPolicies: false }])));
    assert.equal((await get(`${gw.url}/new`)).status, 200, 'the reload is live');
    assert.equal((await get(`${gw.url}/orders`)).status, 429, 'the orders bucket is still empty');
    assert.equal((await get(`${gw.url}/plain`)).status, 429, 'and so is the gateway-wide one');
  });

  it('lets browser scripts read the headers through CORS by default', async () => {
    const ok = await get(`${gw.url}/browser`, { origin: 'https://app.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-expose-headers'], 'x-request-id, ratelimit, ratelimit-policy, retry-after');
    const refused = await get(`${gw.url}/browser`, { origin: 'https://app.test' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(refused.headers['retry-after'], '60');
  });
});

/** Sends `total` GETs spread round-robin over `urls`, at most `inFlight` at once; counts answers by status. */
async function spread(urls: string[], total: number, inFlight: number): Promise<Map<number, number>> {
  const pools = urls.map((u) => new Pool(u, { connections: Math.ceil(inFlight / urls.length) + 1 }));
  const counts = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await pools[i % pools.length]!.request({ path: '/shared', method: 'GET' });
      await res.body.dump();
      counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  return counts;
}

describe('rate-limit across Gatehouse processes sharing one Redis', () => {
  let redis: RedisServer;
  let raw: Redis;
  const gateways: SpawnedGateway[] = [];
  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { lazyConnect: true });
    await raw.connect();
  });
  after(async () => {
    for (const gw of gateways) killIfRunning(gw.proc);
    raw.disconnect();
    await redis.stop();
  });

  let live = 0;
  let polling: NodeJS.Timeout | undefined;
  before(() => {
    polling = setInterval(() => void raw.zcard('gatehouse:instances').then((c) => { live = c; }, () => undefined), 50);
  });
  after(() => clearInterval(polling));

  async function startProcesses(n: number): Promise<SpawnedGateway[]> {
    const file = join(tempDir('gatehouse-rl-'), 'gatehouse.yaml');
    writeFileSync(file, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { enabled: false }',
      'workers: 1',
      'log: { level: warn, access: { enabled: false } }',
      `redis: { url: "${redis.url}", commandTimeout: 2s }`,
      'upstreams:',
      `  u: { targets: [{ url: "${upstream.url}" }] }`,
      'routes:',
      '  - name: shared',
      '    match: { path: /shared }',
      '    upstream: u',
      '    policies:',
      '      - { type: rate-limit, store: redis, onStoreError: fail-closed, limits: [{ name: daily, key: global, limit: 500, window: 24h }] }',
    ].join('\n'));
    const started = await Promise.all(Array.from({ length: n }, () => spawnGateway(['start', '-c', file])));
    gateways.push(...started);
    return started;
  }

  for (const n of [2, 4]) {
    it(`${n} processes admit exactly 500 of 10,000 requests (limit 500 per 24h)`, async () => {
      await raw.flushall();
      live = 0;
      const procs = await startProcesses(n);
      try {
        // Each process writes its heartbeat once its Redis connection is ready: then none answers unconnected.
        await until(() => live >= n, 5000, `${n} heartbeats`);
        const reachedBefore = upstream.received.length;
        const counts = await spread(procs.map((p) => p.url), 10_000, 32);
        // Tokens refilled during the run: one per 172.8 s, so none in a run this short.
        assert.equal(counts.get(200), 500, JSON.stringify([...counts]));
        assert.equal(counts.get(429), 9500, JSON.stringify([...counts]));
        assert.equal(upstream.received.length - reachedBefore, 500, 'refused requests never reach the upstream');
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
      }
    });
  }
});

describe('rate-limit when Redis stops under a running gateway', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  for (const mode of ['fail-open', 'fail-closed', 'local'] as const) {
    it(`${mode}: answers as configured while Redis is down and counts in Redis again once it is back`, async () => {
      if (redis.pid === undefined) await redis.start();
      const gw = await startGateway({
        redis: { url: redis.url, commandTimeout: '1s', keyPrefix: `stop-${mode}:` },
        log: { level: 'error' },
        upstreams: { u: { targets: [{ url: upstream.url }] } },
        routes: [{ name: 'r', match: { path: '/r' }, upstream: 'u', policies: [limit('two', 'ip', 2, '1h', { store: 'redis', onStoreError: mode })] }],
      });
      try {
        await until(() => gw.instance.gateway.runtime.redis!.ready, 5000, 'redis ready');
        assert.equal((await get(`${gw.url}/r`)).status, 200);
        await redis.stop();
        await until(() => !gw.instance.gateway.runtime.redis!.ready, 5000, 'redis gone');
        const down = [];
        for (let i = 0; i < 4; i++) down.push((await get(`${gw.url}/r`)).status);
        const expected = { 'fail-open': [200, 200, 200, 200], 'fail-closed': [503, 503, 503, 503], local: [200, 200, 429, 429] }[mode];
        assert.deepEqual(down, expected);
        if (mode === 'fail-closed') {
          const answer = await get(`${gw.url}/r`);
          assert.equal(JSON.parse(answer.body).error.reason, 'rate_limit_unavailable');
        }
        await redis.start();
        await until(() => gw.instance.gateway.runtime.redis!.ready, 10_000, 'redis back');
        // A fresh Redis: two tokens again, counted in Redis (local's in-memory bucket is not used any more).
        const back = [];
        for (let i = 0; i < 3; i++) back.push((await request(gw.url, '/r')).status);
        assert.deepEqual(back, [200, 200, 429]);
      } finally {
        await gw.close();
      }
    });
  }
});
