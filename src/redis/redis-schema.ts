/**
 * The `redis:` section: the one Redis every feature that shares state across instances uses (rate limits,
 * idempotency keys now; caching and the cluster view later). Its descriptions are the user docs.
 */
import { z } from 'zod';
import { duration } from '../fields/units.ts';

const redisUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (user:password@ and a /DB number allowed)');

export const redisSchema = z.strictObject({
  url: redisUrl.default('redis://127.0.0.1:6379')
    .describe('Where Redis is: redis://HOST:PORT, rediss:// for TLS; user:password@ and a /DB number are allowed. Write ${REDIS_URL:-redis://127.0.0.1:6379} to take it from the environment.'),
  commandTimeout: duration().prefault('50ms')
    .describe('A command with no answer by then fails, and the feature that sent it falls back as it is configured (e.g. rate-limit onStoreError). While Redis is unreachable commands fail at once: nothing is queued.'),
  keyPrefix: z.string().max(64).default('gatehouse:')
    .describe('Prefix of every key Gatehouse writes, so several gateways (or other programs) can share one Redis.'),
}).describe('The Redis shared by every Gatehouse instance, for exact rate limits and idempotency keys across instances. One connection per process, kept across reloads that do not change this section.');

export type RedisConfig = z.output<typeof redisSchema>;
