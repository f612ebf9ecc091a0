/**
 * An Attempt: one dispatch of one request to one target through undici's dispatch API. It owns what belongs
 * to that dispatch — the target's in-flight count, the deadlines, the bytes each way — and reports how it
 * ended to the target's state (target-state.ts). Writing to the client is not its job: it hands the response
 * head, body chunks and its end or failure to its owner (the client-side writer), so a request can make
 * another attempt while no byte has reached the client.
 *
 * One deadline, moved as the attempt walks its phases:
 *
 *   waiting for a connection  -> upstream timeouts.connect            -> 504 upstream_connect_timeout
 *   sending the request body  -> idle timeout (client silent)         -> 408 client_body_timeout
 *   waiting for headers       -> timeouts.response and route timeout  -> 504 upstream_response_timeout / route_timeout
 *   streaming the response    -> idle timeout (upstream silent)       -> upstream_body_timeout
 *
 * The route timeout counts from the request's arrival, or for requests with a body from the moment the body
 * was fully sent (a moving upload is bounded by the idle timeout, never cut); a later attempt of the same
 * request keeps the earlier one's route deadline, so the route timeout bounds them all. A route that retries
 * may also bound each attempt's wait for its head (`perTryTimeout`, from dispatch, or from the body being
 * sent): it caps the connect and response deadlines and expires as they do. Every expiry aborts the
 * dispatch, so the upstream sees the work cancelled. Deadlines are plain numbers checked by the gateway's
 * DeadlineTicker: never honoured early, at most one tick late (idle timeouts two: bytes moving are noted at
 * the next tick rather than by a clock read per chunk), and no timer per request.
 */
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { AttemptSpan } from '../pipeline/trace-record.ts';
import type { DeadlineTicker, DeadlineWatcher } from '../runtime/deadline-ticker.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Target } from '../upstream/target.ts';
import type { AttemptOutcome } from '../upstream/target-state.ts';
import { OUTCOME_REASONS, outcomeOfError, type AttemptPhase } from './outcomes.ts';
import type { RequestBody } from './request-body.ts';
import { monotonicNow } from '../observability/monotonic.ts';

/** The client-side writer an attempt reports to. */
export interface AttemptOwner {
  /** The target's response head. Return false when it cannot be used (the attempt ends as bad_response). */
  attemptHead(attempt: Attempt, status: number, headers: Record<string, string | string[] | undefined>): boolean;
  /** A body chunk; return false to pause the attempt until attempt.resume(). */
  attemptData(attempt: Attempt, chunk: Buffer): boolean;
  attemptEnd(attempt: Attempt): void;
  /** The attempt ended without a complete response (not called for cancel()). */
  attemptFailed(attempt: Attempt, reason: Reason): void;
  /** Upgrades only: the target switched protocols; `socket` is the upstream side of the tunnel. */
  attemptUpgraded?(attempt: Attempt, status: number, rawHeaders: Buffer[] | null, socket: Duplex): void;
}

class AttemptAbort extends Error {
  readonly reason: Reason;
  constructor(reason: Reason) {
    super(reason);
    this.reason = reason;
  }
}

type Phase = AttemptPhase | 'request-body' | 'upgraded' | 'done';

export class Attempt implements Dispatcher.DispatchHandler, DeadlineWatcher {
  readonly target: Target;
  /** The span ID this attempt forwards as the traceparent's parent. */
  readonly spanId: string;
  readonly #ex: Exchange;
  readonly #route: RouteRuntime;
  readonly #owner: AttemptOwner;
  readonly #ticker: DeadlineTicker;
  readonly #body: RequestBody | null;
  #controller: Dispatcher.DispatchController | null = null;
  /** Set when the attempt ended before undici started it: abort it as soon as it starts. */
  #pending: AttemptAbort | undefined = undefined;
  #phase: Phase = 'connect';
  #deadline = 0;
  #deadlineReason: Reason = 'upstream_connect_timeout';
  /** The route timeout's deadline once armed (an earlier attempt's, for a retry); Infinity until then. */
  #routeDeadline = Infinity;
  /** The per-try deadline to the response head; Infinity when the route sets none. */
  #perTry = Infinity;
  #lastActivity = 0;
  /** Bytes moved since the last tick; the tick then moves #lastActivity (no clock read per chunk). */
  #active = false;
  #dispatchedAt = 0;
  #status: number | undefined = undefined;
  #headersMs: number | undefined = undefined;
  #bytesSent = 0;
  #bytesReceived = 0;
  /** This attempt's client span, when the request's trace is recorded (tracing on, sampled); else undefined. */
  #span: AttemptSpan | undefined = undefined;
  /** Owned by the DeadlineTicker (its index while watched). */
  deadlineSlot = -1;

  constructor(ex: Exchange, route: RouteRuntime, target: Target, spanId: string, body: RequestBody | null, owner: AttemptOwner, ticker: DeadlineTicker) {
    this.#ex = ex;
    this.#route = route;
    this.target = target;
    this.spanId = spanId;
    this.#body = body;
    this.#owner = owner;
    this.#ticker = ticker;
  }

  /** The attempt is over (answered, failed or cancelled). */
  get done(): boolean {
    return this.#phase === 'done';
  }

  /** The route timeout's deadline (performance.now() time) once armed; Infinity before. */
  get routeDeadline(): number {
    return this.#routeDeadline;
  }

  /**
   * Dispatches the request: `path` before the target's base path, `headers` as a flat list. `routeDeadline`:
   * an earlier attempt's, which this one keeps (Infinity for a first attempt).
   */
  start(path: string, headers: string[], upgrade?: string, routeDeadline = Infinity): void {
    const target = this.target;
    const route = this.#route;
    target.state.inFlight++;
    this.#dispatchedAt = monotonicNow();
    this.#ticker.watch(this);
    const perTry = route.retry?.perTryTimeout;
    if (perTry !== undefined && upgrade === undefined) this.#perTry = this.#dispatchedAt + perTry;
    this.#armHead(this.#dispatchedAt + route.upstream.config.timeouts.connect, 'upstream_connect_timeout');
    this.#routeDeadline = routeDeadline;
    if (route.timeout !== undefined && (this.#body === null || routeDeadline !== Infinity)) this.#armRouteDeadline(this.#body === null ? this.#ex.start : Infinity);
    const body: Readable | Buffer | null | undefined = this.#body === null ? null : this.#body.forAttempt();
    const fullPath = target.basePath + path;
    const trace = this.#ex.trace;
    if (trace !== undefined) {
      this.#span = { spanId: this.spanId, target: target.id, host: target.host, path: fullPath, start: this.#dispatchedAt, end: 0,
        status: undefined, reason: undefined, errorCode: undefined };
      trace.attempts.push(this.#span);
    }
    // One object shape for every dispatch (no spread of an optional key): null is no upgrade to undici.
    target.pool.dispatch({ method: this.#ex.method as Dispatcher.HttpMethod, path: fullPath, headers, body: body ?? null, upgrade: upgrade ?? null }, this);
  }

  /**
   * Ends the attempt from outside (the client went away, a response policy failed); the owner is not called
   * back. On an upgraded connection it is the tunnel closing, which is how an upgrade ends normally.
   */
  cancel(reason: Reason): void {
    if (this.#phase === 'done') return;
    if (this.#phase === 'upgraded') return this.closeUpgraded();
    this.#end('cancelled', reason, undefined, false);
  }

  /**
   * Ends an attempt whose response head will not be used (a status the route retries): the rest of the
   * response is not read, and the target is told it answered with that status. The owner is not called back.
   */
  discard(): void {
    if (this.#phase !== 'response-body') return;
    // The reason only labels the abort undici sees: nobody is told, and the outcome is the response.
    this.#end('response', 'upstream_bad_response', undefined, false);
  }

  /** Resumes a response paused by attemptData returning false. */
  resume(): void {
    this.#controller?.resume();
  }

  /** Upgrades: the tunnel closed; the attempt ends and stops counting as in flight. */
  closeUpgraded(): void {
    if (this.#phase !== 'upgraded') return;
    this.#phase = 'done';
    this.target.state.inFlight--;
    this.#report('response', undefined, undefined);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pending) {
      controller.abort(this.#pending);
      return;
    }
    this.#phase = 'request-body';
    // A connection carries the request from here on: the upstream may act on it whatever happens next.
    this.#ex.upstreamReached = true;
    if (this.#body === null) return;
    this.#lastActivity = monotonicNow();
    this.#arm(this.#lastActivity + this.#route.idleTimeout, 'client_body_timeout');
  }

  onBodySent(chunk: Buffer | string): void {
    this.#bytesSent += chunk.length;
    this.#ex.bytesIn += chunk.length;
    this.#active = true;
    this.#body?.sent(chunk);
    if (this.#ex.bytesIn > this.#ex.bodyLimit && this.#phase === 'request-body') this.#end('cancelled', 'request_body_too_large', undefined, true);
  }

  onRequestSent(): void {
    if (this.#phase !== 'request-body') return;
    this.#phase = 'request';
    this.#body?.sentAll();
    const now = monotonicNow();
    if (this.#perTry !== Infinity && this.#body !== null) this.#perTry = now + this.#route.retry!.perTryTimeout!;
    this.#armHead(now + this.#route.upstream.config.timeouts.response, 'upstream_response_timeout');
    if (this.#route.timeout !== undefined) this.#armRouteDeadline(this.#body !== null ? now : this.#ex.start);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#phase === 'done') return;
    const now = monotonicNow();
    this.#headersMs = now - this.#dispatchedAt;
    this.#ex.headMs = now - this.#ex.start;
    this.#status = statusCode;
    this.#phase = 'response-body';
    this.#lastActivity = now;
    this.#arm(now + this.#route.idleTimeout, 'upstream_body_timeout');
    if (!this.#owner.attemptHead(this, statusCode, headers) && this.#phase === 'response-body') this.#end('bad_response', 'upstream_bad_response', undefined, true);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, socket: Duplex): void {
    if (this.#phase === 'done') {
      socket.destroy();
      return;
    }
    const now = monotonicNow();
    this.#headersMs = now - this.#dispatchedAt;
    this.#ex.headMs = now - this.#ex.start;
    this.#status = statusCode;
    this.#phase = 'upgraded';
    this.#ticker.unwatch(this);
    const raw = (controller as { rawHeaders?: Buffer[] }).rawHeaders ?? null;
    this.#owner.attemptUpgraded!(this, statusCode, raw, socket);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase === 'done') return;
    this.#bytesReceived += chunk.length;
    this.#active = true;
    if (!this.#owner.attemptData(this, chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#ticker.unwatch(this);
    this.target.state.inFlight--;
    this.#report('response', undefined, undefined);
    this.#owner.attemptEnd(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#phase === 'done') return;
    if (this.#phase === 'upgraded') return;
    if (this.#body?.broken) {
      this.#end('cancelled', 'client_aborted', error, true);
      return;
    }
    const phase: AttemptPhase = this.#phase === 'request-body' ? 'request' : this.#phase;
    const outcome = outcomeOfError(error, phase);
    this.#ex.upstreamError = (error as NodeJS.ErrnoException).code ?? error.name;
    this.#end(outcome, OUTCOME_REASONS[outcome], error, true);
  }

  checkDeadline(now: number): void {
    if (this.#phase === 'done') return;
    const reason = this.#deadlineReason;
    const idle = reason === 'client_body_timeout' || reason === 'upstream_body_timeout';
    if (idle && this.#active) {
      // Activity since the last tick: it happened at or before `now`, so counting from `now` is never early.
      this.#active = false;
      this.#lastActivity = now;
      return;
    }
    if (now < (idle ? this.#lastActivity + this.#route.idleTimeout : this.#deadline)) return;
    this.#end(DEADLINE_OUTCOMES[reason] ?? 'response_timeout', reason, undefined, true);
  }

  #armRouteDeadline(from: number): void {
    const own = from + this.#route.timeout!;
    const routeDeadline = this.#routeDeadline = own < this.#routeDeadline ? own : this.#routeDeadline;
    if (routeDeadline <= this.#deadline) this.#arm(routeDeadline, 'route_timeout');
  }

  /** A deadline to the response head (connect, response), capped by the per-try deadline. */
  #armHead(deadline: number, reason: Reason): void {
    this.#arm(deadline < this.#perTry ? deadline : this.#perTry, reason);
  }

  #arm(deadline: number, reason: Reason): void {
    this.#deadline = deadline;
    this.#deadlineReason = reason;
  }

  #end(outcome: AttemptOutcome, reason: Reason, error: Error | undefined, tellOwner: boolean): void {
    this.#phase = 'done';
    this.#ticker.unwatch(this);
    this.target.state.inFlight--;
    const abort = new AttemptAbort(reason);
    if (this.#controller) this.#controller.abort(abort);
    else this.#pending = abort;
    this.#report(outcome, reason, error);
    if (tellOwner) this.#owner.attemptFailed(this, reason);
  }

  #report(outcome: AttemptOutcome, reason: Reason | undefined, error: Error | undefined): void {
    const ex = this.#ex;
    if (this.#headersMs !== undefined) ex.upstreamMs = this.#headersMs;
    this.target.state.record(outcome, this.#status, this.#headersMs, this.#bytesSent, this.#bytesReceived);
    const span = this.#span;
    if (span === undefined) return;
    span.end = monotonicNow();
    span.status = this.#status;
    // A head the route retries ends as a response too: its status says it all.
    if (outcome !== 'response') span.reason = reason;
    if (error !== undefined) span.errorCode = (error as NodeJS.ErrnoException).code ?? error.name;
  }
}

/** What each deadline says about the target: the gateway's own limits on the client say nothing against it. */
const DEADLINE_OUTCOMES: Partial<Record<Reason, AttemptOutcome>> = {
  upstream_connect_timeout: 'connect_timeout',
  upstream_response_timeout: 'response_timeout',
  route_timeout: 'response_timeout',
  upstream_body_timeout: 'body_timeout',
  client_body_timeout: 'cancelled',
};
