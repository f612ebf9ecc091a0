import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import { startRedis, silentServer, type RedisServer } from '../../test/helpers/redis-server.ts';
import { redisSchema } from './redis-schema.ts';
import { redactedUrl, redisLeaseKey, SharedRedis } from './shared-redis.ts';

const log = createLogger('silent');

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('redis schema', () => {
  test('defaults and validation', () => {
    assert.deepEqual(redisSchema.parse({}), { url: 'redis://127.0.0.1:6379', commandTimeout: 50, keyPrefix: 'gatehouse:' });
    assert.equal(redisSchema.parse({ url: 'rediss://u:p@redis.internal:6380/2' }).url, 'rediss://u:p@redis.internal:6380/2');
    assert.equal(redisSchema.safeParse({ url: 'http://127.0.0.1:6379' }).success, false);
    assert.equal(redisSchema.safeParse({ url: 'not a url' }).success, false);
    assert.equal(redisSchema.safeParse({ commandTimeout: 'soon' }).success, false);
  });

  test('lease key and redacted URL', () => {
    const a = redisSchema.parse({ url: 'redis://127.0.0.1:1' });
    assert.notEqual(redisLeaseKey(a), redisLeaseKey({ ...a, keyPrefix: 'other:' }));
    assert.equal(redactedUrl('redis://user:secret@host:6379/0'), 'redis://user:***@host:6379/0');
  });
});

describe('SharedRedis against a real redis-server', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server.stop();
  });

  test('prefixes keys, fails fast while Redis is down, and is used again when it is back', async () => {
    const redis = new SharedRedis(redisSchema.parse({ url: server.url, keyPrefix: 't1:' }), log);
    try {
      await until(() => redis.ready);
      await redis.client.set('k', 'v');
      const raw = new SharedRedis(redisSchema.parse({ url: server.url, keyPrefix: '' }), log);
      await until(() => raw.ready);
      assert.equal(await raw.client.get('t1:k'), 'v');
      raw.close();

      await server.stop();
      await until(() => !redis.ready);
      // Nothing is queued while disconnected: the command fails at once instead of waiting for a reconnect.
      const started = performance.now();
      await assert.rejects(redis.client.get('k'));
      assert.ok(performance.now() - started < 1000);

      await server.start();
      await until(() => redis.ready, 10_000);
      assert.equal(await redis.client.get('k'), null); // a fresh server: the data was not saved
    } finally {
      redis.close();
    }
  });
});

test('a Redis that accepts connections and never answers does not hold commands', async () => {
  const silent = await silentServer();
  const redis = new SharedRedis(redisSchema.parse({ url: silent.url, commandTimeout: '50ms' }), log);
  try {
    const outcomes = await Promise.allSettled([redis.client.get('a'), redis.client.get('b')]);
    assert.ok(outcomes.every((o) => o.status === 'rejected'));
  } finally {
    redis.close();
    await silent.close();
  }
});
