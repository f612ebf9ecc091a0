/** A route as the data plane uses it: config resolved against its upstream, timeouts in milliseconds. */
import type { RouteConfig } from '../config/schema.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { PolicyChain } from '../pipeline/run.ts';
import type { Upstream } from '../upstream/upstream.ts';

/**
 * How a route retries a failed attempt (retry/route-retry.ts builds these from a route's `retry`; see
 * proxy/forward.ts for the rules the proxy keeps whatever the policy says).
 */
export interface RetryPolicy {
  /** Bytes of request body to keep while it streams, so a later attempt can replay it (0: keep none). */
  readonly keepBodyBytes: number;
  /** Each attempt's time to its response head, ms (undefined: only the upstream's and route's timeouts). */
  readonly perTryTimeout: number | undefined;
  /** The request's first attempt is being made (the budget counts requests). */
  counted(ex: Exchange): void;
  /** Whether a response head with this status may be retried at all (most are not: checked first). */
  retriesStatus(status: number): boolean;
  /** Whether another attempt may follow one that failed with a reason or answered a retryable status; `attempts` were made so far. */
  shouldRetry(ex: Exchange, failed: Reason | number, attempts: number): boolean;
  /** The wait before attempt `attempts` + 1, ms, given a Retry-After in ms; -1: do not retry. */
  backoff(attempts: number, retryAfter: number | undefined): number;
  /** Takes one retry from the upstream's budget at `now` (performance.now()); false: refused. */
  takeBudget(now: number): boolean;
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
