/**
 * The upstream attempt(s) phase, shared by plain requests and upgrades: picks an *available* target, starts
 * one attempt to it (attempt.ts), and decides whether a failed attempt may be followed by another. Retries
 * themselves arrive with traffic control as a route's RetryPolicy; this is their seam: another attempt is
 * made only while no byte has reached the client, only with a body that can be replayed, and with a fresh
 * target pick. It never re-runs the policies.
 */
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { newSpanId } from '../observability/request-id.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Target } from '../upstream/target.ts';
import { pickTarget } from '../upstream/upstream.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { upstreamRequestHeaders } from './headers.ts';
import type { RequestBody } from './request-body.ts';

/** An available target for the exchange, by its route's balancer; undefined when none is available. */
export function pickFor(route: RouteRuntime, ex: Exchange): Target | undefined {
  return pickTarget(route.upstream, ex.headers, ex.path, ex.clientIp);
}

/**
 * Starts an attempt to `target`. The first attempt forwards the traceparent the server stage made (its span
 * ID drawn there); every later one draws a span ID of its own.
 */
export function startAttempt(
  gateway: Gateway, runtime: Runtime, ex: Exchange, route: RouteRuntime, target: Target, body: RequestBody | null, owner: AttemptOwner, upgrade?: string,
): Attempt {
  ex.target = target.id;
  const first = ++ex.attempts === 1;
  const spanId = first ? ex.traceparent.slice(36, 52) : newSpanId();
  const traceparent = first ? ex.traceparent : `00-${ex.traceId}-${spanId}-${ex.traceFlags}`;
  const headers = upstreamRequestHeaders(ex, runtime.edge, route.preserveHost ? undefined : target.host, traceparent);
  const attempt = new Attempt(ex, route, target, spanId, body, owner, gateway.deadlines);
  attempt.start(ex.forwardPath + ex.query, headers, upgrade);
  return attempt;
}

/**
 * Whether a failed attempt may be followed by another: the route retries, the client has not received a byte
 * (`clientStarted` false), the body can be sent again, and the route's policy says yes.
 */
export function mayRetry(route: RouteRuntime, ex: Exchange, reason: Reason, body: RequestBody | null, clientStarted: boolean): boolean {
  const retry = route.retry;
  if (retry === undefined || clientStarted || reason === 'client_aborted') return false;
  if (body !== null && !body.replayable) return false;
  return retry.shouldRetry(ex, reason, ex.attempts);
}
