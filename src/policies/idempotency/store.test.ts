import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisServer } from '../../../test/helpers/redis-server.ts';
import { createLogger } from '../../observability/logger.ts';
import { redisSchema } from '../../redis/redis-schema.ts';
import { SharedRedis } from '../../redis/shared-redis.ts';
import { MemoryStore, RedisStore, type IdempotencyStore, type StoredAnswer } from './store.ts';

const ANSWER: StoredAnswer = { status: 500, headers: ['set-cookie', 'a=1', 'set-cookie', 'b=2'], body: Buffer.from([0, 255, 10, 13]) };

/** The same rules, whichever store: run against memory (with a clock the test moves) and a real Redis. */
function sharedCases(name: string, make: () => { store: IdempotencyStore; wait: (ms: number) => Promise<void> }) {
  describe(`${name}: claim, save, release`, () => {
    it('claims a free key; a second claim gets the marker with its hash', async () => {
      const { store } = make();
      assert.equal(await store.claim(`${name}-1`, 'h1', 't1', 10_000), 'claimed');
      assert.deepEqual(await store.claim(`${name}-1`, 'h2', 't2', 10_000), { state: 'pending', hash: 'h1', token: 't1' });
    });

    it('releases only its own marker: another token leaves it, its own token frees the key', async () => {
      const { store } = make();
      await store.claim(`${name}-2`, 'h', 'mine', 10_000);
      await store.release(`${name}-2`, 'theirs');
      assert.equal((await store.claim(`${name}-2`, 'h', 'x', 10_000) as { state: string }).state, 'pending');
      await store.release(`${name}-2`, 'mine');
      assert.equal(await store.claim(`${name}-2`, 'h', 'again', 10_000), 'claimed');
    });

    it('saves the answer over the marker, bytes and repeated headers intact, and release no longer frees it', async () => {
      const { store } = make();
      await store.claim(`${name}-3`, 'h', 't', 10_000);
      await store.save(`${name}-3`, 'h', ANSWER, 60_000);
      await store.release(`${name}-3`, 't');
      const held = await store.claim(`${name}-3`, 'h', 't2', 10_000);
      assert.deepEqual(held, { state: 'done', hash: 'h', answer: ANSWER });
    });

    it('lets a marker expire after its life, so a crashed request cannot lock the key', async () => {
      const { store, wait } = make();
      await store.claim(`${name}-4`, 'h', 't', 150);
      await wait(400);
      assert.equal(await store.claim(`${name}-4`, 'h', 't2', 150), 'claimed');
    });

    it('forgets a saved answer after its ttl', async () => {
      const { store, wait } = make();
      await store.save(`${name}-5`, 'h', ANSWER, 150);
      await wait(400);
      assert.equal(await store.claim(`${name}-5`, 'h', 't', 1000), 'claimed');
    });
  });
}

const clock = { now: 1000 };
sharedCases('memory', () => ({
  store: new MemoryStore(1 << 20, { now: () => clock.now }),
  wait: (ms) => { clock.now += ms; return Promise.resolve(); },
}));

describe('memory store bound', () => {
  it('drops the least recently used answers beyond its byte bound', async () => {
    const store = new MemoryStore(3000);
    const big = { status: 200, headers: [], body: Buffer.alloc(1000) };
    for (let i = 0; i < 4; i++) await store.save(`k${i}`, 'h', big, 60_000);
    assert.equal(await store.claim('k0', 'h', 't', 1000), 'claimed');
    assert.equal((await store.claim('k3', 'h', 't', 1000) as { state: string }).state, 'done');
  });
});

describe('redis store', () => {
  let server: RedisServer;
  let redis: SharedRedis;
  before(async () => {
    server = await startRedis();
    redis = new SharedRedis(redisSchema.parse({ url: server.url, commandTimeout: '1s', keyPrefix: 'unit:' }), createLogger('silent'));
    for (let i = 0; i < 200 && !redis.ready; i++) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    redis.close();
    await server.stop();
  });

  sharedCases('redis', () => ({ store: new RedisStore(redis), wait: (ms) => new Promise((r) => setTimeout(r, ms)) }));

  it('keeps its keys under the shared keyPrefix', async () => {
    await new RedisStore(redis).claim('idempotency:prefixed', 'h', 't', 10_000);
    const raw = new SharedRedis(redisSchema.parse({ url: server.url, keyPrefix: '' }), createLogger('silent'));
    try {
      for (let i = 0; i < 200 && !raw.ready; i++) await new Promise((r) => setTimeout(r, 25));
      assert.match((await raw.client.get('unit:idempotency:prefixed'))!, /^p/);
    } finally {
      raw.close();
    }
  });

  it('rejects while Redis is down, so the policy can refuse rather than forward unprotected', async () => {
    const store = new RedisStore(redis);
    await server.stop();
    try {
      await assert.rejects(store.claim('down', 'h', 't', 1000));
      await assert.rejects(store.save('down', 'h', ANSWER, 1000));
      await assert.rejects(store.release('down', 't'));
    } finally {
      await server.start();
    }
    for (let i = 0; i < 400 && !redis.ready; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await store.claim('down', 'h', 't', 1000), 'claimed');
  });
});
