/**
 * Forwards one request to one target through undici's dispatch API and streams the response back, both
 * directions with backpressure and no buffering. Each request has one deadline, moved as it walks the phases:
 *
 *   waiting for a connection  -> upstream timeouts.connect            -> 504 upstream_connect_timeout
 *   sending the request body  -> idle timeout (client silent)         -> 408 client_body_timeout
 *   waiting for headers       -> timeouts.response and route timeout  -> 504 upstream_response_timeout / route_timeout
 *   streaming the response    -> idle timeout (upstream silent)       -> connection closed, logged upstream_body_timeout
 *
 * The route timeout counts from arrival, or for requests with a body from the moment the body was fully
 * sent (a moving upload is bounded by the idle timeout, never cut). Every expiry aborts the upstream
 * request, so the upstream sees the work cancelled. Deadlines are plain numbers checked by the gateway's
 * DeadlineTicker: never honoured early, at most one tick late (idle timeouts two: bytes moving are noted at the
 * next tick rather than by a clock read per chunk), and no timer per request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { PolicyContext } from '../pipeline/context.ts';
import { reply } from '../pipeline/reply.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import type { Exchange } from '../server/exchange.ts';
import { sendLocalReply } from '../server/reply.ts';
import type { Target } from '../upstream/target.ts';
import type { DeadlineTicker, DeadlineWatcher } from './deadline-ticker.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { reasonForUpstreamError, type UpstreamPhase } from './upstream-errors.ts';

class GatewayAbort extends Error {
  readonly reason: Reason;
  constructor(reason: Reason) {
    super(reason);
    this.reason = reason;
  }
}

type Phase = UpstreamPhase | 'request-body' | 'done';

export class ProxyHandler implements Dispatcher.DispatchHandler, DeadlineWatcher {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #ex: Exchange;
  readonly #route: RouteRuntime;
  readonly #target: Target;
  readonly #hasBody: boolean;
  readonly #ticker: DeadlineTicker;
  readonly #edge: EdgeSettings;
  /** The policies' decisions for this request (undefined: the route has none). */
  readonly #policy: PolicyContext | undefined;
  #controller: Dispatcher.DispatchController | null = null;
  /** Set when the exchange ended before undici started the request: abort it as soon as it starts. */
  #pending: GatewayAbort | undefined;
  #phase: Phase = 'connect';
  #deadline = 0;
  #deadlineReason: Reason = 'upstream_connect_timeout';
  #lastActivity = 0;
  /** Bytes moved since the last tick; the tick then moves #lastActivity (no clock read per chunk). */
  #active = false;
  #dispatchedAt = 0;
  /** Owned by the DeadlineTicker (its index while watched). */
  deadlineSlot = -1;
  readonly #onDrain = () => this.#controller?.resume();

  constructor(
    req: IncomingMessage, res: ServerResponse, ex: Exchange, route: RouteRuntime, target: Target, hasBody: boolean, ticker: DeadlineTicker,
    edge: EdgeSettings, policy: PolicyContext | undefined,
  ) {
    this.#edge = edge;
    this.#policy = policy;
    this.#req = req;
    this.#res = res;
    this.#ex = ex;
    this.#route = route;
    this.#target = target;
    this.#hasBody = hasBody;
    this.#ticker = ticker;
  }

  /** Sends the request upstream. */
  start(path: string): void {
    const target = this.#target;
    const route = this.#route;
    target.state.inFlight++;
    this.#dispatchedAt = performance.now();
    this.#ticker.watch(this);
    this.#arm(this.#dispatchedAt + route.upstream.config.timeouts.connect, 'upstream_connect_timeout');
    if (route.timeout !== undefined && !this.#hasBody) this.#armRouteDeadline();
    const headers = upstreamRequestHeaders(this.#req, this.#ex, this.#edge, route.preserveHost ? undefined : target.host, this.#policy);
    target.pool.dispatch({
      method: this.#req.method as Dispatcher.HttpMethod,
      path: target.basePath + path,
      headers,
      body: this.#hasBody ? this.#req : null,
    }, this);
  }

  /** The client connection closed before the response completed. */
  clientClosed(): void {
    if (this.#phase === 'done') return;
    this.#finish('client_aborted', 499);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pending) {
      controller.abort(this.#pending);
      return;
    }
    this.#phase = 'request-body';
    if (!this.#hasBody) return;
    this.#lastActivity = performance.now();
    this.#arm(this.#lastActivity + this.#route.idleTimeout, 'client_body_timeout');
  }

  onBodySent(chunk: Buffer | string): void {
    this.#ex.bytesIn += chunk.length;
    this.#active = true;
    const policy = this.#policy;
    if (policy !== undefined && this.#ex.bytesIn > policy.bodyLimit && this.#phase === 'request-body') this.#finish('request_body_too_large', 413);
  }

  onRequestSent(): void {
    if (this.#phase !== 'request-body') return;
    this.#phase = 'request';
    const now = performance.now();
    this.#arm(now + this.#route.upstream.config.timeouts.response, 'upstream_response_timeout');
    if (this.#route.timeout !== undefined) this.#armRouteDeadline(this.#hasBody ? now : this.#ex.start);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#phase === 'done') return;
    const now = performance.now();
    this.#ex.upstreamMs = now - this.#dispatchedAt;
    this.#ex.status = statusCode;
    this.#phase = 'response-body';
    this.#lastActivity = now;
    this.#arm(now + this.#route.idleTimeout, 'upstream_body_timeout');
    const res = this.#res;
    try {
      const out = clientResponseHeaders(headers, this.#ex.requestId);
      const added = this.#policy?.responseHeaders;
      if (added) for (let i = 0; i < added.length; i++) out.push(added[i]!);
      res.writeHead(statusCode, out);
    } catch {
      // Node refused a header value the upstream sent (invalid characters): the upstream answered badly.
      this.#finish('upstream_bad_response', 502);
      return;
    }
    if (res.destroyed) controller.abort(new GatewayAbort('client_aborted'));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase === 'done') return;
    this.#ex.bytesOut += chunk.length;
    this.#active = true;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#stopWatching();
    this.#target.state.inFlight--;
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#phase === 'done') return;
    const reason = reasonForUpstreamError(error, this.#phase === 'request-body' ? 'request' : this.#phase);
    if (this.#req.destroyed && !this.#req.complete) {
      // The client's upload broke off: that is the client going away, not an upstream failure.
      this.#finish('client_aborted', 499);
      return;
    }
    this.#finish(reason, undefined, error);
  }

  #armRouteDeadline(from = this.#ex.start): void {
    const routeDeadline = from + this.#route.timeout!;
    if (routeDeadline <= this.#deadline) this.#arm(routeDeadline, 'route_timeout');
  }

  #arm(deadline: number, reason: Reason): void {
    this.#deadline = deadline;
    this.#deadlineReason = reason;
  }

  checkDeadline(now: number): void {
    if (this.#phase === 'done') return;
    const idle = this.#deadlineReason === 'client_body_timeout' || this.#deadlineReason === 'upstream_body_timeout';
    if (idle && this.#active) {
      // Activity since the last tick: it happened at or before `now`, so counting from `now` is never early.
      this.#active = false;
      this.#lastActivity = now;
      return;
    }
    if (now >= (idle ? this.#lastActivity + this.#route.idleTimeout : this.#deadline)) this.#finish(this.#deadlineReason);
  }

  #stopWatching(): void {
    this.#ticker.unwatch(this);
  }

  /** Ends the exchange with a failure: aborts the upstream, answers or cuts the client, records the reason. */
  #finish(reason: Reason, status?: number, error?: Error): void {
    this.#phase = 'done';
    if (error) this.#ex.upstreamError = (error as NodeJS.ErrnoException).code ?? error.name;
    this.#stopWatching();
    this.#target.state.inFlight--;
    const abort = new GatewayAbort(reason);
    if (this.#controller) this.#controller.abort(abort);
    else this.#pending = abort;
    this.#ex.reason = reason;
    const res = this.#res;
    if (status === 499) {
      this.#ex.status = 499;
    } else if (!res.headersSent) {
      this.#ex.status = sendLocalReply(res, reply(reason), this.#ex.requestId, this.#policy?.responseHeaders);
    } else {
      // Headers are out: the only honest signal left is to cut the connection, so the client sees truncation.
      // The log records the failure's status (e.g. 504 upstream_body_timeout), not the upstream's 200.
      this.#ex.status = status ?? reasons[reason].status;
      res.destroy();
    }
  }
}
