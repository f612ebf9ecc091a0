/** A route as the data plane uses it: config resolved against its upstream, timeouts in milliseconds. */
import type { RouteConfig } from '../config/schema.ts';
import type { PolicyChain } from '../pipeline/run.ts';
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
  /** Longest silence while bodies stream either way, ms. */
  readonly idleTimeout: number;
  readonly upgradeIdleTimeout: number;
  /** The route's policies, in running order (empty for most routes: then no context is built at all). */
  readonly policies: PolicyChain;
  /** One of the route's policies answers its preflights (routing then looks them up by the announced method). */
  readonly answersPreflight: boolean;
}

export function routeRuntime(config: RouteConfig, upstream: Upstream, policies: PolicyChain): RouteRuntime {
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
    policies,
    answersPreflight: policies.policies.some((p) => p.definition.answersPreflight === true),
  };
}
