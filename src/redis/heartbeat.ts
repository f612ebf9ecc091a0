/**
 * The heartbeat: every Gatehouse instance marks itself alive in Redis each second, and reads how many
 * instances are alive. The rate limiter's `local` fallback divides a limit by that count while Redis is
 * away, so the share stays right when an autoscaler changes the number of instances.
 *
 * The marks are members of one sorted set (`<keyPrefix>instances`) scored by Redis `TIME`, so hosts with
 * skewed clocks agree; a member not refreshed for TTL_S seconds no longer counts and is removed. An instance
 * is `<hostname>:<pid of its primary>`: every worker of one instance writes the same member, which is fine.
 * Failures are ignored: the count last seen is kept.
 */
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Closable } from '../leases/shared-resources.ts';
import type { SharedRedis } from './shared-redis.ts';

const INTERVAL_MS = 1000;
/** A member older than this (seconds) is no longer a live instance. */
const TTL_S = 5;
const COMMAND = 'gatehouseHeartbeat';

const SCRIPT = `
local now = tonumber(redis.call('TIME')[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`;

type HeartbeatClient = Redis & Record<typeof COMMAND, (key: string, member: string, ttl: number) => Promise<number>>;

/** This instance's name in the heartbeat set. */
export function instanceName(): string {
  return `${hostname()}:${cluster.isWorker ? process.ppid : process.pid}`;
}

export class Heartbeat implements Closable {
  readonly #client: HeartbeatClient;
  readonly #member: string;
  readonly #ttl: number;
  readonly #timer: NodeJS.Timeout;
  #live: number | undefined = undefined;

  /** `member` (this instance's name), `intervalMs` and `ttlSeconds` are settable for tests. */
  constructor(redis: SharedRedis, { member = instanceName(), intervalMs = INTERVAL_MS, ttlSeconds = TTL_S } = {}) {
    const client = redis.client;
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { lua: SCRIPT, numberOfKeys: 1 });
    this.#client = client as HeartbeatClient;
    this.#member = member;
    this.#ttl = ttlSeconds;
    this.#timer = setInterval(() => void this.beat(), intervalMs).unref();
    void this.beat();
  }

  /** Live instances in the last heartbeat answer, or undefined when none was ever seen. */
  get liveInstances(): number | undefined {
    return this.#live;
  }

  /** Writes this instance's mark and reads the count (the timer calls it every second). */
  beat(): Promise<void> {
    if (this.#client.status !== 'ready') return Promise.resolve();
    return this.#client[COMMAND]('instances', this.#member, this.#ttl).then((count) => {
      this.#live = count;
    }, () => undefined);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** The lease key of the heartbeat on one connection. */
export function heartbeatLeaseKey(redisLeaseKey: string): string {
  return `heartbeat:${redisLeaseKey}`;
}
