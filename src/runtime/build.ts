/**
 * Config -> Runtime: the only place that turns config into live units. Everything is built before anything
 * is swapped; resources that outlive a runtime (pools, target state, the access log) are shared by identity
 * with the previous runtime so a reload that does not change them keeps them.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'undici';
import type { Config } from '../config/schema.ts';
import { createAccessLog, type AccessLog } from '../observability/access-log.ts';
import { ipSet } from '../net/ip-set.ts';
import type { Logger } from '../observability/logger.ts';
import { droppedRequestHeaders } from '../proxy/headers.ts';
import { identityHeaders } from '../proxy/identity-headers.ts';
import { compileRouter } from '../router/router.ts';
import { balancers } from '../upstream/balancers/registry.ts';
import type { PoolRegistry } from '../upstream/pool-registry.ts';
import { Target, type TargetState } from '../upstream/target.ts';
import { hashKeyOf, type Upstream } from '../upstream/upstream.ts';
import { routeRuntime } from './route.ts';
import { buildRoutePolicies, type RoutePolicies } from './route-policies.ts';
import { Runtime, type EdgeSettings } from './runtime.ts';
import type { SharedResources } from './shared-resources.ts';
import type { Lease } from './shared-registry.ts';

/** State that survives reloads, owned by the gateway. */
export interface SharedState {
  readonly pools: PoolRegistry;
  readonly targetStates: Map<string, TargetState>;
  readonly resources: SharedResources;
  readonly log: Logger;
}

export function buildRuntime(config: Config, shared: SharedState, previous?: Runtime): Runtime {
  const pools: Lease<Pool>[] = [];
  const policies = buildRoutePolicies(config, { log: shared.log, shared: shared.resources });
  try {
    return buildWith(config, shared, pools, policies, previous);
  } catch (error) {
    // A failed build must not leak the pool leases or policy resources it took before failing.
    for (const pool of pools) pool.release();
    policies.close();
    throw error;
  }
}

function buildWith(config: Config, shared: SharedState, pools: Lease<Pool>[], policies: RoutePolicies, previous: Runtime | undefined): Runtime {
  const liveStates = new Set<string>();
  const upstreams = new Map<string, Upstream>();
  for (const [name, upstreamConfig] of Object.entries(config.upstreams)) {
    const targets = upstreamConfig.targets.map((t) => {
      const stateKey = `${name} ${t.url}`;
      liveStates.add(stateKey);
      let state = shared.targetStates.get(stateKey);
      if (!state) shared.targetStates.set(stateKey, state = { inFlight: 0, available: true });
      const pool = shared.pools.acquire(t, upstreamConfig);
      pools.push(pool);
      return new Target(t.url, t.weight, pool.value, state);
    });
    upstreams.set(name, {
      name,
      config: upstreamConfig,
      targets,
      balancer: balancers[upstreamConfig.balancer](targets),
      hashKey: hashKeyOf(upstreamConfig.hashOn),
    });
  }
  const routes = config.routes.map((r) => routeRuntime(r, upstreams.get(r.upstream)!, policies.chainFor(r)));
  const router = compileRouter(routes);
  const keepLog = previous && isDeepStrictEqual(previous.config.log.access, config.log.access);
  const accessLog: AccessLog = keepLog ? previous.accessLog : createAccessLog(config.log.access);
  const release = () => {
    for (const pool of pools) pool.release();
    policies.close();
  };
  const identity = identityHeaders(config.identity);
  const edge: EdgeSettings = { identity, trustedProxies: ipSet(config.server.trustedProxies), dropped: droppedRequestHeaders(identity.names) };
  const runtime = new Runtime(config, router, upstreams, accessLog, edge, release);
  // Forget state of targets no config refers to any more, so the map does not grow across reloads.
  for (const key of shared.targetStates.keys()) if (!liveStates.has(key)) shared.targetStates.delete(key);
  return runtime;
}
