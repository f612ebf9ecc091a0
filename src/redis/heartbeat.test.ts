import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../observability/logger.ts';
import { startRedis, type RedisServer } from '../../test/helpers/redis-server.ts';
import { redisSchema } from './redis-schema.ts';
import { SharedRedis } from './shared-redis.ts';
import { Heartbeat, instanceName } from './heartbeat.ts';

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the heartbeat', () => {
  let server: RedisServer;
  let redis: SharedRedis;
  let raw: Redis;
  before(async () => {
    server = await startRedis();
    redis = new SharedRedis(redisSchema.parse({ url: server.url, keyPrefix: 'hb:', commandTimeout: '1s' }), createLogger('silent'));
    raw = new Redis(server.url, { lazyConnect: true });
    await raw.connect();
    await until(() => redis.ready);
  });
  after(async () => {
    redis.close();
    raw.disconnect();
    await server.stop();
  });

  it('names an instance by host and the pid of its primary', () => {
    assert.equal(instanceName(), `${hostname()}:${process.pid}`);
  });

  it('counts the live instances, each once however many workers beat for it, and forgets the silent ones', async () => {
    const a = new Heartbeat(redis, { member: 'host-a:1', intervalMs: 60_000, ttlSeconds: 1 });
    const aWorker = new Heartbeat(redis, { member: 'host-a:1', intervalMs: 60_000, ttlSeconds: 1 });
    const b = new Heartbeat(redis, { member: 'host-b:1', intervalMs: 60_000, ttlSeconds: 1 });
    try {
      assert.equal(a.liveInstances, undefined, 'nothing seen yet');
      await Promise.all([a.beat(), aWorker.beat(), b.beat()]);
      await a.beat();
      assert.equal(a.liveInstances, 2);
      assert.deepEqual((await raw.zrange('hb:instances', '0', '-1')).sort(), ['host-a:1', 'host-b:1']);
      assert.ok((await raw.ttl('hb:instances')) > 0, 'the set itself expires when every instance is gone');
      // b stops beating: after the TTL (scores are Redis TIME seconds) it no longer counts.
      await new Promise((r) => setTimeout(r, 2100));
      await a.beat();
      assert.equal(a.liveInstances, 1);
    } finally {
      a.close();
      aWorker.close();
      b.close();
    }
  });

  it('keeps the count last seen while Redis is away', async () => {
    const beat = new Heartbeat(redis, { member: 'host-c:1', intervalMs: 60_000 });
    try {
      await beat.beat();
      const seen = beat.liveInstances;
      assert.ok(seen !== undefined && seen >= 1);
      await server.stop();
      await until(() => !redis.ready);
      await beat.beat();
      assert.equal(beat.liveInstances, seen);
    } finally {
      beat.close();
      await server.start();
      await until(() => redis.ready);
    }
  });
});
