/**
 * rate-limit: GCRA token buckets per client, consumer, header, claim, route or for everyone. A request is
 * admitted only when every limit admits it, and a refused request takes nothing from any of them (check all,
 * then take all, atomically: in Redis one Lua script per request). A refusal gets 429 rate_limited with
 * Retry-After; RateLimit-Policy and RateLimit headers name the limit closest to refusing.
 *
 * Buckets are identified by (route name or "*", limit name, key kind, key value), in memory and in Redis
 * alike, so they survive reloads. Unlike other policies, a route's own rate-limit adds its limits to the
 * inherited gateway-wide ones (buildRoutePolicies hands those over as deps.inherited); the gateway-wide
 * buckets stay shared by every route.
 *
 * store: memory counts per process (per worker with workers > 1); store: redis counts exactly across
 * workers and instances, and while Redis fails does what onStoreError says (see rate-limit/limiter.ts).
 */
import { z } from 'zod';
import { duration } from '../fields/units.ts';
import { definePolicy, type PolicyDeps } from '../pipeline/policy.ts';
import { heartbeatLeaseKey, Heartbeat } from '../redis/heartbeat.ts';
import { redisLeaseKey } from '../redis/shared-redis.ts';
import type { Lease } from '../leases/shared-registry.ts';
import { BucketStore } from './rate-limit/bucket-store.ts';
import { policyValue, type CompiledLimit } from './rate-limit/decision.ts';
import { KEY_PATTERN, keyReader, type KeyReader } from './rate-limit/keys.ts';
import { Limiter } from './rate-limit/limiter.ts';

const limitSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must contain only letters, digits, ".", "_" and "-"').max(64)
    .describe('Names the limit in the RateLimit headers and in its buckets\' identity; unique within the policy.'),
  key: z.string().regex(KEY_PATTERN, 'must be ip, consumer, route, global, header:NAME (a lower-case header name) or claim:NAME')
    .describe('What is counted: ip (the client IP, after server.trustedProxies), consumer (the authenticated consumer, else the token subject; a request without one is counted by its client IP), header:NAME, claim:NAME (a verified JWT claim), route (one bucket per route) or global (one bucket for everyone). An empty value is counted by the client IP, never with other empty ones.'),
  limit: z.number().int().min(1).describe('Tokens per window: the steady rate is limit / window.'),
  window: duration().refine((ms) => ms > 0, 'must be longer than 0').describe('The window the limit refills over, e.g. "1s", "1m", "1h", "24h".'),
  burst: z.number().int().min(1).optional().describe('Most tokens a bucket holds, i.e. the longest run of requests admitted at once (default: limit).'),
}).refine((l) => l.window === 0 || l.window * 1000 >= l.limit, {
  // One token per microsecond is the finest rate Redis' microsecond clock can count exactly.
  path: ['limit'], message: 'more than 1000 per millisecond of window (1,000,000 a second) cannot be counted exactly; lower it or lengthen the window',
});

export const schema = z.strictObject({
  store: z.enum(['memory', 'redis']).default('memory')
    .describe('memory: buckets in this process (per worker when workers > 1). redis: buckets in the shared Redis (the top-level redis: section), exact across workers and instances.'),
  onStoreError: z.enum(['fail-open', 'fail-closed', 'local']).optional()
    .describe('store: redis only. What a request gets while Redis fails (down, timed out, script error): fail-open admits it, fail-closed answers 503 rate_limit_unavailable, local (default) enforces limit / (live instances × workers) in this process\'s memory. Redis is used again as soon as it answers.'),
  instances: z.number().int().min(1).optional()
    .describe('store: redis only. The instance count the local fallback divides by before any heartbeat was seen (default 1); after that, the live count from the heartbeats.'),
  headers: z.boolean().default(true).describe('Send RateLimit-Policy and RateLimit on admitted responses too (refusals always carry them).'),
  limits: z.array(limitSchema).min(1).describe('The limits; a request must be admitted by every one.'),
}).superRefine((config, ctx) => {
  const seen = new Map<string, number>();
  config.limits.forEach((limit, i) => {
    const first = seen.get(limit.name);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['limits', i, 'name'], message: `a second limit named "${limit.name}" (first at limits[${first}]); names are unique within a policy` });
    else seen.set(limit.name, i);
  });
  if (config.store !== 'redis') {
    for (const key of ['onStoreError', 'instances'] as const) {
      if (config[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to store: redis only` });
    }
  }
});

export type RateLimitConfig = z.output<typeof schema>;

const BUCKETS_LEASE = 'rate-limit:buckets';

/** Builds the policy; `clock` (monotonic ms) is injectable for tests. */
export function createRateLimit(config: RateLimitConfig, deps: PolicyDeps, clock: () => number = () => performance.now()): Limiter {
  const scope = deps.scope ?? '*';
  const inherited = deps.inherited as RateLimitConfig | undefined;
  const limits = [...(inherited ? compile(inherited, '*') : []), ...compile(config, scope)];
  const workers = deps.workers ?? 1;
  const leases: Array<Lease<unknown>> = [];
  const buckets = deps.shared.acquire(BUCKETS_LEASE, () => new BucketStore());
  leases.push(buckets);
  let heartbeat: Lease<Heartbeat> | undefined;
  if (config.store === 'redis' && deps.redis) {
    const connection = deps.redis;
    heartbeat = deps.shared.acquire(heartbeatLeaseKey(redisLeaseKey(connection.config)), () => new Heartbeat(connection));
    leases.push(heartbeat);
  } else if (workers > 1) {
    deps.log.info({ scope, workers, perWorker: limits.map((l) => `${l.name} ${l.limit}/${l.window}ms`) },
      'rate-limit: memory store: each worker counts on its own, so each limit applies per worker process (use store: redis for limits exact across workers and instances)');
  }
  return new Limiter({
    limits,
    headers: config.headers,
    buckets: buckets.value,
    clock,
    log: deps.log,
    redis: heartbeat && deps.redis ? {
      connection: deps.redis, onStoreError: config.onStoreError ?? 'local', heartbeat: heartbeat.value, instances: config.instances ?? 1, workers,
    } : undefined,
    release: () => {
      for (const lease of leases) lease.release();
    },
  });
}

function compile(config: RateLimitConfig, scope: string): Array<CompiledLimit & { reader: KeyReader }> {
  return config.limits.map((l) => {
    const burst = l.burst ?? l.limit;
    const interval = l.window / l.limit;
    return {
      name: l.name, limit: l.limit, window: l.window, burst, interval, capacity: burst * interval,
      policyValue: policyValue(l.name, l.limit, l.window), statePrefix: `"${l.name}";r=`, reader: keyReader(scope, l.name, l.key),
    };
  });
}

export const rateLimit = definePolicy({
  type: 'rate-limit',
  priority: 900,
  kind: 'filter',
  schema,
  addsToInherited: true,
  doc: 'GCRA token buckets keyed by client IP, consumer, header, JWT claim, route or global; every limit must admit a request and a refused one consumes nothing. Refusals get 429 rate_limited with Retry-After; RateLimit-Policy and RateLimit headers name the limit closest to refusing. store: memory (per process) or redis (exact across instances, one Lua script per request, with fail-open, fail-closed or local fallback while Redis fails). A route\'s own rate-limit adds to the gateway-wide one instead of replacing it. See docs/rate-limiting.md.',
  create: (config, deps) => createRateLimit(config, deps),
});
