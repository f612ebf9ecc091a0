/**
 * Config -> Runtime: the only place that turns config into live units. Everything is built before anything
 * is swapped; resources that outlive a runtime (pools, target state, the access log) are shared by identity
 * with the previous runtime so a reload that does not change them keeps them: pools and target state are
 * leased, and released when the runtime that holds them has drained.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'undici';
import { workerCount } from '../config/worker-count.ts';
import type { Config, RouteConfig } from '../config/schema.ts';
import { createAccessLog, type AccessLog } from '../observability/access-log.ts';
import { ipSet } from '../net/ip-set.ts';
import type { Logger } from '../observability/logger.ts';
import { droppedRequestHeaders, GATEWAY_SET_HEADERS } from '../net/owned-headers.ts';
import { identityHeaders } from '../pipeline/identity-headers.ts';
import { compileRouter } from '../router/router.ts';
import { balancers } from '../upstream/balancers/balancer-registry.ts';
import type { PoolRegistry } from '../upstream/pool-registry.ts';
import { Target } from '../upstream/target.ts';
import type { TargetRegistry } from '../upstream/target-registry.ts';
import { teachUndiciHeaderNames } from '../upstream/undici-header-names.ts';
import { hashKeyOf, type Upstream } from '../upstream/upstream.ts';
import { routeRuntime, type RetryPolicy } from './route.ts';
import { buildRoutePolicies, type RoutePolicies } from './route-policies.ts';
import { Runtime, type EdgeSettings } from './runtime.ts';
import type { SharedResources } from '../leases/shared-resources.ts';
import type { Lease, SharedRegistry } from '../leases/shared-registry.ts';
import { redisLeaseKey, SharedRedis } from '../redis/shared-redis.ts';
import { RetryBudget } from '../retry/retry-budget.ts';
import { RouteRetry } from '../retry/route-retry.ts';
import { SpanExport, spanExportKey } from '../tracing/span-export.ts';
import { Tracing } from '../tracing/tracing.ts';

/** State that survives reloads, owned by the gateway. */
export interface SharedState {
  readonly pools: PoolRegistry;
  readonly targets: TargetRegistry;
  readonly resources: SharedResources;
  readonly log: Logger;
  /**
   * Retry budgets by upstream name (retry-budget.ts): leased by each runtime with a route that retries to that
   * upstream, so a reload that keeps the upstream keeps its counts.
   */
  readonly retryBudgets: SharedRegistry<RetryBudget>;
  /** Tests only: a route's retry policy in place of the one its `retry` config builds. */
  readonly retryFor?: ((route: RouteConfig) => RetryPolicy | undefined) | undefined;
}

export function buildRuntime(config: Config, shared: SharedState, previous?: Runtime): Runtime {
  const leases: Array<Lease<unknown>> = [];
  const redis = config.redis === undefined ? undefined : shared.resources.acquire(redisLeaseKey(config.redis), () => new SharedRedis(config.redis!, shared.log));
  if (redis) leases.push(redis);
  let policies: RoutePolicies;
  try {
    policies = buildRoutePolicies(config, { log: shared.log, shared: shared.resources, redis: redis?.value, workers: workerCount(config.workers) });
  } catch (error) {
    redis?.release();
    throw error;
  }
  try {
    return buildWith(config, shared, leases, policies, previous, redis?.value);
  } catch (error) {
    // A failed build must not leak the leases (pools, target state) or policy resources it took before failing.
    for (const lease of leases) lease.release();
    policies.close();
    throw error;
  }
}

function buildWith(
  config: Config, shared: SharedState, leases: Array<Lease<unknown>>, policies: RoutePolicies, previous: Runtime | undefined, redis: SharedRedis | undefined,
): Runtime {
  const upstreams = new Map<string, Upstream>();
  for (const [name, upstreamConfig] of Object.entries(config.upstreams)) {
    const targets = upstreamConfig.targets.map((t) => {
      const state = shared.targets.acquire(name, t.url);
      leases.push(state);
      const pool: Lease<Pool> = shared.pools.acquire(name, t, upstreamConfig);
      leases.push(pool);
      return new Target(t.url, t.weight, pool.value, state.value);
    });
    upstreams.set(name, {
      name,
      config: upstreamConfig,
      targets,
      balancer: balancers[upstreamConfig.balancer](targets),
      hashKey: hashKeyOf(upstreamConfig.hashOn),
    });
  }
  const routes = config.routes.map((r) => routeRuntime(r, upstreams.get(r.upstream)!, policies.chainFor(r), retryOf(r, shared, leases)));
  const router = compileRouter(routes);
  const keepLog = previous && isDeepStrictEqual(previous.config.log.access, config.log.access);
  const accessLog: AccessLog = keepLog ? previous.accessLog : createAccessLog(config.log.access);
  const release = () => {
    for (const lease of leases) lease.release();
    policies.close();
  };
  const identity = identityHeaders(config.identity);
  // Every upstream request carries these: undici checks a name it does not know on each one (undici-header-names.ts).
  teachUndiciHeaderNames([...GATEWAY_SET_HEADERS, ...identity.names]);
  const edge: EdgeSettings = {
    identity, trustedProxies: ipSet(config.server.trustedProxies), dropped: droppedRequestHeaders(identity.names), tracing: tracingOf(config, shared, leases),
  };
  return new Runtime(config, router, upstreams, accessLog, edge, release, redis);
}

/** Tracing when the config enables it, with its export pipeline leased by endpoint and service name; else undefined. */
function tracingOf(config: Config, shared: SharedState, leases: Array<Lease<unknown>>): Tracing | undefined {
  const tracing = config.tracing;
  if (!tracing.enabled) return undefined;
  const spanExport = shared.resources.acquire(spanExportKey(tracing), () => new SpanExport(tracing, shared.log));
  leases.push(spanExport);
  return new Tracing(tracing.sampleRatio, spanExport.value, new Map(config.routes.map((r) => [r.name, r.match.path])));
}

/** The route's retry policy: built from its `retry` config, with the upstream's budget leased by name. */
function retryOf(route: RouteConfig, shared: SharedState, leases: Array<Lease<unknown>>): RetryPolicy | undefined {
  const given = shared.retryFor?.(route);
  if (given !== undefined || route.retry === undefined) return given;
  const budget = shared.retryBudgets.acquire(route.upstream, () => new RetryBudget());
  leases.push(budget);
  return new RouteRetry(route.retry, budget.value);
}
