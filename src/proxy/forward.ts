/**
 * The upstream attempt(s) phase, shared by plain requests and upgrades: picks an *available* target, starts
 * one attempt to it (attempt.ts), and decides whether a failed attempt, or one that answered a status the
 * route retries, is followed by another. The route's RetryPolicy (retry/route-retry.ts) says which outcomes,
 * methods and waits; the rules here hold whatever it says: another attempt is made only while no byte has
 * reached the client, only with a body that can be replayed, within the route's timeout, to a target not
 * tried yet when one is available. It never re-runs the policies. Upgrades are never retried (their
 * responder does not ask).
 */
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { newSpanId } from '../observability/request-id.ts';
import { retryAfterMs } from '../retry/route-retry.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Target } from '../upstream/target.ts';
import { pickTarget } from '../upstream/upstream.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { upstreamRequestHeaders } from './headers.ts';
import type { RequestBody } from './request-body.ts';
import { monotonicNow } from '../observability/monotonic.ts';

/**
 * An available target for the exchange, by its route's balancer; undefined when none is available. A retry
 * passes the targets `tried` so far and does not take a turn of the rotation when the balancer's next target
 * is one not tried (a pick would move it twice per retried request, so with one failing target of two every
 * first attempt landed on it). When the next is one tried, the next available target not tried is taken
 * instead, or the balancer's pick when every available one was tried.
 */
export function pickFor(route: RouteRuntime, ex: Exchange, tried?: readonly Target[]): Target | undefined {
  if (tried !== undefined) {
    const upstream = route.upstream;
    const next = upstream.balancer.peek?.(upstream.hashKey?.(ex.headers, ex.path, ex.clientIp));
    // `available` (not the peek's side-effect-free read) so a breaker whose openFor has passed turns half-open.
    if (next !== undefined && !tried.includes(next) && next.available) return next;
  }
  const picked = pickTarget(route.upstream, ex.headers, ex.path, ex.clientIp);
  if (tried === undefined || picked === undefined || !tried.includes(picked)) return picked;
  const targets = route.upstream.targets;
  const from = targets.indexOf(picked);
  for (let i = 1; i < targets.length; i++) {
    const target = targets[(from + i) % targets.length]!;
    if (target.available && !tried.includes(target)) return target;
  }
  return picked;
}

/**
 * Why no target was available (pickFor returned undefined): every target's breaker open (or half-open with
 * its probes all in flight), or otherwise none healthy. Runs only on that refusal.
 */
export function noTargetReason(route: RouteRuntime): 'upstream_circuit_open' | 'no_healthy_upstream' {
  const targets = route.upstream.targets;
  if (targets.length === 0) return 'no_healthy_upstream';
  for (const { state } of targets) {
    if (state.breaker === null || !state.breaker.ejected) return 'no_healthy_upstream';
  }
  return 'upstream_circuit_open';
}

/**
 * Starts an attempt to `target`. The first attempt forwards the traceparent the server stage made (its span
 * ID drawn there); every later one draws a span ID of its own, and keeps `routeDeadline`, the route
 * timeout's deadline of the attempt before it.
 */
export function startAttempt(
  gateway: Gateway, runtime: Runtime, ex: Exchange, route: RouteRuntime, target: Target, body: RequestBody | null, owner: AttemptOwner, upgrade?: string,
  routeDeadline?: number,
): Attempt {
  ex.target = target.id;
  const first = ++ex.attempts === 1;
  const spanId = first ? ex.traceparent.slice(36, 52) : newSpanId();
  const traceparent = first ? ex.traceparent : `00-${ex.traceId}-${spanId}-${ex.traceFlags}`;
  const headers = upstreamRequestHeaders(ex, runtime.edge, route.preserveHost ? undefined : target.host, traceparent);
  const attempt = new Attempt(ex, route, target, spanId, body, owner, gateway.deadlines);
  attempt.start(ex.forwardPath + ex.query, headers, upgrade, routeDeadline);
  return attempt;
}

/**
 * The wait in ms before another attempt may follow `previous`, which failed with a reason or answered with a
 * status the route retries; -1 when none may: the route does not retry, the client has received a byte
 * (`clientStarted`), the body cannot be sent again, the policy says no (outcome, method, attempts, a
 * Retry-After beyond its max), the wait would end past the route's timeout, or the budget refuses. The budget
 * is asked last, so a retry it grants is one that is made (unless no target is left to take it).
 */
export function retryDelay(
  route: RouteRuntime, ex: Exchange, failed: Reason | number, body: RequestBody | null, clientStarted: boolean, previous: Attempt,
  retryAfter?: number,
): number {
  const retry = route.retry;
  if (retry === undefined || clientStarted || failed === 'client_aborted') return -1;
  if (body !== null && !body.replayable) return -1;
  if (!retry.shouldRetry(ex, failed, ex.attempts)) return -1;
  const delay = retry.backoff(ex.attempts, retryAfter);
  if (delay < 0) return -1;
  const now = monotonicNow();
  if (now + delay >= previous.routeDeadline) return -1;
  return retry.takeBudget(now) ? delay : -1;
}

/** retryDelay for a response head with `status`; -1 at once for the statuses the route does not retry. */
export function retryDelayForHead(
  route: RouteRuntime, ex: Exchange, status: number, headers: Record<string, string | string[] | undefined>, body: RequestBody | null,
  clientStarted: boolean, previous: Attempt,
): number {
  if (!route.retry!.retriesStatus(status)) return -1;
  return retryDelay(route, ex, status, body, clientStarted, previous, retryAfterMs(headers['retry-after'], Date.now()));
}

/** The client side of a request that may retry: what the next attempt is made for. */
export interface RetryingOwner extends AttemptOwner {
  readonly gateway: Gateway;
  readonly runtime: Runtime;
  readonly ex: Exchange;
  /** The client went away: no attempt is started after that. */
  gone(): boolean;
}

/** One request's retries, made at its first retry: the targets tried, and the backoff timer while it runs. */
export class Retries {
  readonly tried: Target[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;

  /**
   * Makes the next attempt after `previous` (a failed one, or one whose head is discarded here), after
   * `delay` ms, to a target not tried yet when one is available; `started` gets it. `outcome` is how
   * `previous` ended, for the access log. False when no target is available: nothing happens then, and the
   * caller answers with what `previous` brought.
   */
  next(owner: RetryingOwner, route: RouteRuntime, body: RequestBody | null, previous: Attempt, outcome: string, delay: number,
    started: (attempt: Attempt) => void): boolean {
    this.tried.push(previous.target);
    const target = pickFor(route, owner.ex, this.tried);
    if (target === undefined) return false;
    previous.discard();
    const ex = owner.ex;
    (ex.tries ??= []).push(`${previous.target.id} ${outcome}`);
    // The failure's error code belongs to `tries` now; the log's upstreamError is the last attempt's. A head
    // discarded here never reached the client: its time is not the request's latency.
    ex.upstreamError = undefined;
    ex.headMs = undefined;
    const go = (): void => {
      this.#timer = undefined;
      if (owner.gone()) return;
      started(startAttempt(owner.gateway, owner.runtime, owner.ex, route, target, body, owner, undefined, previous.routeDeadline));
    };
    if (delay === 0) go();
    else this.#timer = setTimeout(go, delay);
    return true;
  }

  /** The client went away during a backoff: the timer is dropped. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** How an attempt ended, as the access log's `tries` says it: a status, or the failure (`connect_failure`). */
export function tryOutcome(failed: Reason | number): string {
  if (typeof failed === 'number') return String(failed);
  return failed.startsWith('upstream_') ? failed.slice('upstream_'.length) : failed;
}
