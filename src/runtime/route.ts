/** A route as the data plane uses it: config resolved against its upstream, timeouts in milliseconds. */
import type { RouteConfig } from '../config/schema.ts';
import type { Upstream } from '../upstream/upstream.ts';

export interface RouteRuntime {
  readonly name: string;
  readonly config: RouteConfig;
  readonly match: RouteConfig['match'];
  readonly upstream: Upstream;
  readonly stripPrefix: boolean;
  readonly preserveHost: boolean;
  /** Deadline until response headers, ms (undefined: none). */
  readonly timeout: number | undefined;
  /** Longest silence while bodies stream, ms. */
  readonly idleTimeout: number;
  readonly upgradeIdleTimeout: number;
}

export function routeRuntime(config: RouteConfig, upstream: Upstream): RouteRuntime {
  return {
    name: config.name,
    config,
    match: config.match,
    upstream,
    stripPrefix: config.stripPrefix,
    preserveHost: config.preserveHost,
    timeout: config.timeout,
    idleTimeout: config.idleTimeout ?? upstream.config.timeouts.bodyIdle,
    upgradeIdleTimeout: config.upgradeIdleTimeout,
  };
}
