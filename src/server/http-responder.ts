/**
 * The client side of a plain (non-upgrade) request: a node:http (or HTTP/2 compatibility) response. It runs
 * the lifecycle (lifecycle.ts), makes the upstream attempt(s), writes what comes back — the upstream's answer
 * or a local reply, each through the response phase — and finishes the request when the response closes.
 *
 * A failed attempt is answered with its reason while no byte has reached the client (or retried, when the
 * route retries); once the head is out, the only honest signal left is to cut the connection, so the client
 * sees the truncation, and the log records the failure's status.
 */
import type http from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { BodyRead, BodySource, Exchange } from '../pipeline/exchange.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import type { Attempt } from '../proxy/attempt.ts';
import { noTargetReason, pickFor, Retries, retryDelay, retryDelayForHead, startAttempt, tryOutcome, type RetryingOwner } from '../proxy/forward.ts';
import { RequestBody } from '../proxy/request-body.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { replyParts } from './error-response.ts';
import { finishOnClose } from './finish.ts';
import { runLifecycle, type Responder } from './lifecycle.ts';
import { bodySink, responsePhase, upstreamHead } from './response-phase.ts';
import { readWhole } from './read-body.ts';
import { newExchange } from './server-stage.ts';

export class HttpResponder implements Responder, RetryingOwner, BodySource {
  readonly gateway: Gateway;
  readonly runtime: Runtime;
  readonly ex: Exchange;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  route: RouteRuntime | undefined = undefined;
  /** The client waits for 100 Continue before sending its body (server 'checkContinue'). */
  #expectsContinue: boolean;
  #attempt: Attempt | undefined = undefined;
  #body: RequestBody | null = null;
  /** Made at the first retry. */
  #retries: Retries | undefined = undefined;
  /** Where the response body goes: the response, or the first body transform. */
  #sink: Writable | undefined = undefined;
  readonly #onDrain = (): void => this.#attempt?.resume();

  constructor(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) {
    this.gateway = gateway;
    const runtime = this.runtime = gateway.runtime;
    runtime.enter();
    this.ex = newExchange(req, runtime.edge);
    this.req = req;
    this.res = res;
    this.#expectsContinue = expectsContinue;
    res.on('close', this.#closed);
    if (gateway.draining) res.shouldKeepAlive = false;
    this.ex.bodySource = this;
  }

  /** The body read ahead of the attempts (Exchange.readBody): asks for it first when the client awaits 100 Continue. */
  async readWhole(maxBytes: number): Promise<BodyRead> {
    if (this.#expectsContinue) {
      this.#expectsContinue = false;
      this.res.writeContinue();
    }
    const read = await readWhole(this.req, maxBytes, this.route?.idleTimeout ?? 60_000);
    // The unread rest of a refused body would otherwise be drained to keep the connection: close it instead.
    if (!Buffer.isBuffer(read)) this.res.shouldKeepAlive = false;
    return read;
  }

  gone(): boolean {
    return this.res.destroyed;
  }

  answer(local: LocalReply, withPolicies = true): void {
    const { res, ex } = this;
    if (res.headersSent || res.destroyed) return;
    const { headers, body } = replyParts(local, ex.requestId);
    const head = withPolicies ? responsePhase(this.route, ex, local.status, headers) : undefined;
    if (head === false) return this.answer(reply('policy_error'), false);
    ex.status = local.status;
    ex.reason = local.reason;
    ex.source = local.source;
    res.writeHead(local.status, headers);
    // Node writes no body for a HEAD request, so none is counted; a transform counts its own output.
    const uncounted = ex.method === 'HEAD' || (head !== undefined && head.transforms !== undefined);
    writeBody(bodySink(res, head, ex), body, ex, uncounted);
  }

  forward(): void {
    const route = this.route!;
    const target = pickFor(route, this.ex);
    if (target === undefined) return this.answer(reply(noTargetReason(route)));
    const retry = route.retry;
    if (retry !== undefined) retry.counted(this.ex);
    if (this.ex.hasBody) this.#body = new RequestBody(this.ex.bufferedBody ?? this.req, retry?.keepBodyBytes ?? 0);
    if (this.#expectsContinue) this.res.writeContinue();
    this.#attempt = startAttempt(this.gateway, this.runtime, this.ex, route, target, this.#body, this);
  }

  /** The response phase asks, for a route that retries: is this head discarded for another attempt? */
  retryHead(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean {
    const route = this.route!;
    const delay = retryDelayForHead(route, this.ex, status, upstreamHeaders, this.#body, this.res.headersSent, attempt);
    return delay >= 0 && this.#retry(route, attempt, tryOutcome(status), delay);
  }

  #retry(route: RouteRuntime, previous: Attempt, outcome: string, delay: number): boolean {
    // The callback is made here, on the retry path, rather than held by every responder.
    const started = (attempt: Attempt): void => {
      this.#attempt = attempt;
    };
    return (this.#retries ??= new Retries()).next(this, route, this.#body, previous, outcome, delay, started);
  }

  attemptHead(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean {
    const { res, ex } = this;
    const upstream = upstreamHead(this, attempt, status, upstreamHeaders);
    if (upstream === undefined) return true;
    const { headers, head } = upstream;
    ex.status = status;
    try {
      res.writeHead(status, headers);
    } catch {
      // Node refused a header value the upstream sent (invalid characters): the upstream answered badly.
      return false;
    }
    this.#sink = bodySink(res, head, ex);
    if (res.destroyed) attempt.cancel('client_aborted');
    return true;
  }

  attemptData(_attempt: Attempt, chunk: Buffer): boolean {
    const sink = this.#sink!;
    if (sink === this.res) this.ex.bytesOut += chunk.length;
    if (sink.write(chunk)) return true;
    sink.once('drain', this.#onDrain);
    return false;
  }

  attemptEnd(): void {
    this.#sink!.end();
  }

  attemptFailed(attempt: Attempt, reason: Reason): void {
    const { res, ex } = this;
    const route = this.route!;
    if (route.retry !== undefined) {
      const delay = retryDelay(route, ex, reason, this.#body, res.headersSent, attempt);
      if (delay >= 0 && this.#retry(route, attempt, tryOutcome(reason), delay)) return;
    }
    if (reason === 'client_aborted') {
      ex.status = 499;
      ex.reason = reason;
    } else if (!res.headersSent) {
      this.answer(reply(reason));
    } else {
      ex.status = reasons[reason].status;
      ex.reason = reason;
      res.destroy();
    }
  }

  // Closed with an attempt still running (mid-response), while policies were deciding (a JWKS fetch), or
  // after the answer was written.
  readonly #closed = (): void => {
    this.#retries?.stop();
    const attempt = this.#attempt;
    finishOnClose(this.gateway, this.runtime, this.ex, attempt, attempt === undefined || attempt.done);
  };
}

/**
 * Writes a local reply's body (none, bytes or a stream) and ends the response. `uncounted`: its bytes are not
 * added to bytesOut here (a transform counts what it emits; a HEAD answer sends none).
 */
function writeBody(sink: Writable, body: string | Buffer | Readable | undefined, ex: Exchange, uncounted: boolean): void {
  if (body === undefined) {
    sink.end();
  } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (!uncounted) ex.bytesOut += Buffer.byteLength(body);
    sink.end(body);
  } else {
    if (!uncounted) body.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; });
    body.on('error', () => sink.destroy());
    body.pipe(sink);
  }
}

/** A plain request (server 'request' or 'checkContinue'). */
export function onRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, expectsContinue = false): void {
  const responder = new HttpResponder(gateway, req, res, expectsContinue);
  runLifecycle(responder, req);
}

/** Answers a request the gateway refuses before routing (an Expect it cannot meet, an HTTP/2 CONNECT). */
export function refuseRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, reason: Reason): void {
  const responder = new HttpResponder(gateway, req, res, false);
  responder.ex.path = (req.url ?? '').slice(0, 256);
  res.shouldKeepAlive = false;
  responder.answer(reply(reason));
}
