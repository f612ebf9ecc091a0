/**
 * One rate-limit policy at work: its limits (the gateway-wide ones it adds to, then its own), the store it
 * takes tokens from, and what it does while Redis fails. Per admitted request in memory it builds one
 * string per limit (the bucket key) and allocates nothing else: the buckets' parameters and the store's
 * answer live in arrays made once per policy, which is safe because a memory take runs to completion.
 */
import type { Exchange } from '../../pipeline/exchange.ts';
import { reply, type LocalReply } from '../../pipeline/local-reply.ts';
import type { Policy } from '../../pipeline/policy.ts';
import type { ResponseHead } from '../../pipeline/response-head.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SharedRedis } from '../../redis/shared-redis.ts';
import type { Heartbeat } from '../../redis/heartbeat.ts';
import { TOLERANCE, type BucketStore } from './bucket-store.ts';
import { noteAdmitted, noteRefused, type CompiledLimit } from './decision.ts';
import type { KeyReader } from './keys.ts';
import { redisKey, scriptClient, takeInRedis } from './redis-store.ts';

export type StoreErrorMode = 'fail-open' | 'fail-closed' | 'local';

/** At most one summary line of degraded decisions per this many ms. */
const SUMMARY_MS = 10_000;

export interface LimiterOptions {
  readonly limits: ReadonlyArray<CompiledLimit & { readonly reader: KeyReader }>;
  readonly headers: boolean;
  readonly buckets: BucketStore;
  /** Monotonic ms. */
  readonly clock: () => number;
  readonly log: Logger;
  /** Gives back what the policy holds (its leases on the buckets and the heartbeat). */
  readonly release?: (() => void) | undefined;
  /** The Redis store; without it, memory. */
  readonly redis?: {
    readonly connection: SharedRedis;
    readonly onStoreError: StoreErrorMode;
    readonly heartbeat: Heartbeat | undefined;
    /** Instances assumed before a heartbeat was seen. */
    readonly instances: number;
    readonly workers: number;
  } | undefined;
}

/** What the policy counted, for the snapshot and metrics. */
export interface RateLimitStats {
  admitted: number;
  refused: number;
  /** Decisions made without Redis while it failed (every onStoreError mode). */
  degraded: number;
}

export class Limiter implements Policy {
  readonly stats: RateLimitStats = { admitted: 0, refused: 0, degraded: 0 };
  readonly #o: LimiterOptions;
  readonly #count: number;
  readonly #keys: string[];
  readonly #interval: Float64Array;
  readonly #capacity: Float64Array;
  readonly #occupancy: Float64Array;
  readonly #redisArgs: string[];
  readonly #script: ReturnType<typeof scriptClient> | undefined;
  // The local fallback's share: the same limits divided by (live instances × workers), recomputed when that changes.
  readonly #localInterval: Float64Array;
  readonly #localCapacity: Float64Array;
  #localShare = 0;
  #degradedSince = -1;
  #unreported = 0;
  #lastLine = -Infinity;
  #lastRecoveredLine = -Infinity;

  constructor(options: LimiterOptions) {
    this.#o = options;
    const n = this.#count = options.limits.length;
    this.#keys = new Array<string>(n).fill('');
    this.#interval = Float64Array.from(options.limits, (l) => l.interval);
    this.#capacity = Float64Array.from(options.limits, (l) => l.capacity);
    this.#occupancy = new Float64Array(n);
    this.#localInterval = new Float64Array(n);
    this.#localCapacity = new Float64Array(n);
    this.#redisArgs = [...options.limits.flatMap((l) => [String(l.interval * 1000), String(l.capacity * 1000)]), String(TOLERANCE)];
    this.#script = options.redis ? scriptClient(options.redis.connection.client) : undefined;
  }

  onRequest(ex: Exchange): LocalReply | undefined | Promise<LocalReply | undefined> {
    const redis = this.#o.redis;
    if (redis === undefined) return this.#takeInMemory(ex, '', this.#interval, this.#capacity);
    if (!redis.connection.ready) return this.#degraded(ex, undefined);
    const keys = new Array<string>(this.#count);
    for (let i = 0; i < this.#count; i++) keys[i] = redisKey(this.#o.limits[i]!.reader.bucket(ex));
    return takeInRedis(this.#script!, keys, this.#redisArgs).then(
      (answer) => this.#fromRedis(ex, answer),
      (error: unknown) => this.#degraded(ex, error),
    );
  }

  onResponse(ex: Exchange, head: ResponseHead): void {
    const i = ex.rateLimitIndex;
    if (i < 0 || (!this.#o.headers && head.status !== 429)) return;
    const limit = this.#o.limits[i]!;
    head.set('ratelimit-policy', limit.policyValue);
    head.set('ratelimit', `${limit.statePrefix}${ex.rateLimitRemaining};t=${ex.rateLimitReset}`);
  }

  close(): void {
    this.#o.release?.();
  }

  #takeInMemory(ex: Exchange, prefix: string, interval: Float64Array, capacity: Float64Array): LocalReply | undefined {
    const keys = this.#keys;
    const limits = this.#o.limits;
    for (let i = 0; i < this.#count; i++) keys[i] = prefix === '' ? limits[i]!.reader.bucket(ex) : prefix + limits[i]!.reader.bucket(ex);
    const admitted = this.#o.buckets.take(keys, this.#count, interval, capacity, this.#o.clock(), this.#occupancy);
    return this.#answer(ex, admitted, interval, capacity);
  }

  #answer(ex: Exchange, admitted: boolean, interval: Float64Array, capacity: Float64Array): LocalReply | undefined {
    if (admitted) {
      this.stats.admitted++;
      noteAdmitted(ex, interval, capacity, this.#occupancy, this.#count);
      return undefined;
    }
    this.stats.refused++;
    const retryAfter = noteRefused(ex, interval, capacity, this.#occupancy, this.#count);
    return reply('rate_limited', { 'retry-after': String(retryAfter) });
  }

  #fromRedis(ex: Exchange, answer: number[]): LocalReply | undefined {
    if (this.#degradedSince >= 0) this.#recovered();
    const occupancy = this.#occupancy;
    for (let i = 0; i < this.#count; i++) occupancy[i] = answer[i + 1]! / 1000;
    return this.#answer(ex, answer[0] === 1, this.#interval, this.#capacity);
  }

  #degraded(ex: Exchange, error: unknown): LocalReply | undefined {
    const redis = this.#o.redis!;
    this.stats.degraded++;
    this.#report(error, redis.onStoreError);
    if (redis.onStoreError === 'fail-open') return undefined;
    if (redis.onStoreError === 'fail-closed') return reply('rate_limit_unavailable');
    this.#shareLocally((redis.heartbeat?.liveInstances ?? redis.instances) * redis.workers);
    // "~" is in no route name, so these buckets never meet a memory-store policy's ("*" or a route name first).
    return this.#takeInMemory(ex, '~local:', this.#localInterval, this.#localCapacity);
  }

  /** limit / share per bucket: the interval grows by `share`; the burst shrinks by it, to one token at least. */
  #shareLocally(share: number): void {
    if (share === this.#localShare) return;
    this.#localShare = share;
    this.#o.limits.forEach((l, i) => {
      const interval = l.interval * share;
      this.#localInterval[i] = interval;
      this.#localCapacity[i] = Math.max(1, l.burst / share) * interval;
    });
  }

  // The first degraded decision of an outage is logged, then at most one line every SUMMARY_MS, whatever it
  // says: a Redis that fails one request in two (a script error on one key) must not log two lines a request.
  #report(error: unknown, mode: StoreErrorMode): void {
    const now = this.#o.clock();
    const starting = this.#degradedSince < 0;
    if (starting) this.#degradedSince = now;
    if (starting && now - this.#lastLine >= SUMMARY_MS) {
      this.#lastLine = now;
      this.#o.log.warn({ err: error instanceof Error ? error.message : 'not connected', onStoreError: mode }, `rate-limit: redis failed; deciding without it (${mode}) until it answers again`);
      return;
    }
    this.#unreported++;
    if (now - this.#lastLine < SUMMARY_MS) return;
    this.#o.log.warn({ degraded: this.#unreported, onStoreError: mode, degradedTotal: this.stats.degraded }, `rate-limit: redis still failing; ${this.#unreported} more decisions without it (${mode})`);
    this.#unreported = 0;
    this.#lastLine = now;
  }

  // Once per SUMMARY_MS at most too, apart from the failure lines: one outage gives one line each way.
  #recovered(): void {
    this.#degradedSince = -1;
    const now = this.#o.clock();
    if (now - this.#lastRecoveredLine < SUMMARY_MS) return;
    this.#lastRecoveredLine = now;
    this.#o.log.info({ degradedTotal: this.stats.degraded }, 'rate-limit: redis answers again; limits are shared again');
  }
}
