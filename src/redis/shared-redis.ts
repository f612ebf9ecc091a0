/**
 * One process's connection to the shared Redis, leased across reloads like pools (runtime/build.ts). Built
 * for a data plane that must never wait on Redis:
 * - no offline queue: while disconnected a command fails at once instead of waiting for the reconnect;
 * - `commandTimeout` bounds every command that was sent;
 * - no per-request retries after a dropped connection (a rate-limit take must not be applied twice);
 * - reconnects forever with capped backoff, so Redis coming back is used again with no restart.
 * Connection changes are logged once each, not once per reconnect attempt.
 */
import { Redis } from 'ioredis';
import type { Closable } from '../leases/shared-resources.ts';
import type { Logger } from '../observability/logger.ts';
import type { RedisConfig } from './redis-schema.ts';

/** Longest pause between reconnect attempts, ms. */
const MAX_BACKOFF_MS = 2000;

export class SharedRedis implements Closable {
  readonly config: RedisConfig;
  readonly client: Redis;
  #lost = false;
  #closed = false;

  constructor(config: RedisConfig, log: Logger) {
    this.config = config;
    const where = redactedUrl(config.url);
    this.client = new Redis(config.url, {
      enableOfflineQueue: false,
      commandTimeout: config.commandTimeout,
      keyPrefix: config.keyPrefix,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(1000, config.commandTimeout * 10),
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), MAX_BACKOFF_MS),
    });
    this.client.on('ready', () => {
      if (this.#lost) log.info({ redis: where }, 'redis: connected again');
      this.#lost = false;
    });
    // An 'error' listener is required (ioredis prints unhandled ones); one line per outage is enough.
    this.client.on('error', (error: Error) => {
      if (this.#lost) return;
      this.#lost = true;
      log.warn({ redis: where, err: error.message }, 'redis: unreachable; features using it fall back until it answers again');
    });
  }

  /** Connected and ready for commands now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** close() was called: no command is sent and no reconnect is attempted any more. */
  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.client.disconnect();
  }
}

/** The lease key: one connection per distinct `redis:` section. */
export function redisLeaseKey(config: RedisConfig): string {
  return `redis:${config.url}\n${config.commandTimeout}\n${config.keyPrefix}`;
}

/** The URL without its password, for logs. */
export function redactedUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
