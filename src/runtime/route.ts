/** A route as the data plane uses it: config resolved against its upstream, timeouts in milliseconds. */
import type { RouteConfig } from '../config/schema.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { PolicyChain } from '../pipeline/run.ts';
import type { Upstream } from '../upstream/upstream.ts';

/** How a route retries a failed attempt (traffic control builds these; see proxy/forward.ts for the rules). */
export interface RetryPolicy {
  /** Bytes of request body to keep while it streams, so a later attempt can replay it (0: keep none). */
  readonly keepBodyBytes: number;
  /** Whether to make another attempt after one failed with `reason`; `attempts` were made so far. */
  shouldRetry(ex: Exchange, reason: Reason, attempts: number): boolean;
}

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
  /** Retries of failed attempts; undefined: one attempt only. */
  readonly retry: RetryPolicy | undefined;
}

export function routeRuntime(config: RouteConfig, upstream: Upstream, policies: PolicyChain, retry?: RetryPolicy): RouteRuntime {
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
    retry,
  };
}
