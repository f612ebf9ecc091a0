/**
 * Requests the gateway makes itself — batch items, composed calls — through the same routing, request
 * policies, attempts, response phase and finish as a client's request, with no client socket: the answer is
 * collected into memory and handed back. Each is an exchange of its own (its own request ID and access log
 * line), in the trace of the request that made it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import { isSampled, newRequestId, newSpanId, traceFrom } from '../observability/request-id.ts';
import { Exchange } from '../pipeline/exchange.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import type { Attempt } from '../proxy/attempt.ts';
import { noTargetReason, pickFor, Retries, retryDelay, retryDelayForHead, startAttempt, tryOutcome, type RetryingOwner } from '../proxy/forward.ts';
import { RequestBody } from '../proxy/request-body.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { replyParts } from './error-response.ts';
import { finish } from './finish.ts';
import { routeAndAdmit, type Responder } from './lifecycle.ts';
import { normalizePath } from './normalize-path.ts';
import { bodySink, responsePhase, upstreamHead } from './response-phase.ts';

export interface InternalRequest {
  readonly method: string;
  /** Path and query, e.g. "/api/users/1?fields=name". */
  readonly url: string;
  readonly headers?: IncomingHttpHeaders | undefined;
  readonly body?: Buffer | undefined;
  /** The request this one is made for: its trace, client IP and identity carry over. */
  readonly parent?: Exchange | undefined;
}

export interface InternalResponse {
  readonly status: number;
  /** [name, value, ...] as the client would have received them. */
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** The gateway's reason, when the gateway answered or the upstream failed. */
  readonly reason: Reason | undefined;
  /** The answer broke off after its head (the body is incomplete). */
  readonly truncated: boolean;
  readonly ex: Exchange;
}

class InternalResponder implements Responder, RetryingOwner {
  readonly gateway: Gateway;
  readonly runtime: Runtime;
  readonly ex: Exchange;
  route: RouteRuntime | undefined = undefined;
  readonly #body: Buffer | undefined;
  readonly #done: (response: InternalResponse) => void;
  #headers: string[] = [];
  /** Where the upstream's body goes: #out, or the first body transform. */
  #sink: NodeJS.WritableStream | undefined = undefined;
  #requestBody: RequestBody | null = null;
  /** Made at the first retry. */
  #retries: Retries | undefined = undefined;
  readonly #chunks: Buffer[] = [];
  /** Receives the body (through the response phase's transforms, if any). */
  readonly #out = new PassThrough();
  #headSent = false;
  #truncated = false;

  constructor(gateway: Gateway, request: InternalRequest, done: (response: InternalResponse) => void) {
    this.gateway = gateway;
    const runtime = this.runtime = gateway.runtime;
    runtime.enter();
    this.ex = exchangeFor(request, runtime);
    this.#body = request.body;
    // Already in memory: a policy that reads the body (Exchange.readBody) gets these bytes.
    this.ex.bufferedBody = request.body;
    this.#done = done;
    this.#out.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    this.#out.on('end', () => this.#finish());
  }

  gone(): boolean {
    return false;
  }

  answer(local: LocalReply, withPolicies = true): void {
    if (this.#headSent) return;
    const ex = this.ex;
    const { headers, body } = replyParts(local, ex.requestId);
    const head = withPolicies ? responsePhase(this.route, ex, local.status, headers) : undefined;
    if (head === false) return this.answer(reply('policy_error'), false);
    this.#headSent = true;
    ex.status = local.status;
    ex.reason = local.reason;
    ex.source = local.source;
    this.#headers = headers;
    const sink = bodySink(this.#out, head, ex);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) sink.end(body);
    else (body as Readable).pipe(sink);
  }

  forward(): void {
    const route = this.route!;
    const target = pickFor(route, this.ex);
    if (target === undefined) return this.answer(reply(noTargetReason(route)));
    route.retry?.counted(this.ex);
    if (this.#body !== undefined) this.#requestBody = new RequestBody(this.#body, 0);
    startAttempt(this.gateway, this.runtime, this.ex, route, target, this.#requestBody, this);
  }

  /** The response phase asks, for a route that retries: is this head discarded for another attempt? */
  retryHead(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean {
    const route = this.route!;
    const delay = retryDelayForHead(route, this.ex, status, upstreamHeaders, this.#requestBody, this.#headSent, attempt);
    return delay >= 0 && this.#retry(route, attempt, tryOutcome(status), delay);
  }

  #retry(route: RouteRuntime, previous: Attempt, outcome: string, delay: number): boolean {
    return (this.#retries ??= new Retries()).next(this, route, this.#requestBody, previous, outcome, delay, NOTHING);
  }

  attemptHead(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean {
    const ex = this.ex;
    const upstream = upstreamHead(this, attempt, status, upstreamHeaders);
    if (upstream === undefined) return true;
    const { headers, head } = upstream;
    this.#headSent = true;
    ex.status = status;
    this.#headers = headers;
    this.#sink = bodySink(this.#out, head, ex);
    return true;
  }

  attemptData(_attempt: Attempt, chunk: Buffer): boolean {
    if (this.#sink === this.#out) this.ex.bytesOut += chunk.length;
    this.#sink!.write(chunk);
    return true;
  }

  attemptEnd(): void {
    this.#sink!.end();
  }

  attemptFailed(attempt: Attempt, reason: Reason): void {
    const ex = this.ex;
    const route = this.route!;
    if (route.retry !== undefined) {
      const delay = retryDelay(route, ex, reason, this.#requestBody, this.#headSent, attempt);
      if (delay >= 0 && this.#retry(route, attempt, tryOutcome(reason), delay)) return;
    }
    if (!this.#headSent) return this.answer(reply(reason));
    ex.status = reasons[reason].status;
    ex.reason = reason;
    this.#truncated = true;
    this.#sink!.end();
  }

  #finish(): void {
    const ex = this.ex;
    finish(this.gateway, this.runtime, ex);
    this.#done({ status: ex.status, headers: this.#headers, body: Buffer.concat(this.#chunks), reason: ex.reason, truncated: this.#truncated, ex });
  }
}

const NOTHING = (): void => {};

function exchangeFor(request: InternalRequest, runtime: Runtime): Exchange {
  const parent = request.parent;
  const tracing = runtime.edge.tracing;
  const q = request.url.indexOf('?');
  const headers = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(request.body.length);
  // In the parent's trace, with a span of its own; or a trace of its own.
  const trace = parent === undefined ? traceFrom(undefined, tracing === undefined ? 1 : tracing.sampleRatio) : { traceId: parent.traceId, traceFlags: parent.traceFlags, spanId: newSpanId() };
  const ex = new Exchange({
    requestId: newRequestId(), method: request.method.toUpperCase(), path: '', query: q === -1 ? '' : request.url.slice(q), headers,
    host: headers.host, clientIp: parent?.clientIp ?? '127.0.0.1', forwardedFor: parent?.forwardedFor, forwardedProto: parent?.forwardedProto,
    traceId: trace.traceId, traceFlags: trace.traceFlags, traceparent: `00-${trace.traceId}-${trace.spanId}-${trace.traceFlags}`,
  });
  ex.identity = parent?.identity;
  // A child of the request that made it, recorded when that one is; else sampled like a trace started here.
  const parentTrace = parent?.trace;
  if (parentTrace !== undefined) ex.trace = parentTrace.recorder.begin(parentTrace.spanId, true);
  else if (parent === undefined && tracing !== undefined && isSampled(trace.traceFlags)) ex.trace = tracing.begin(undefined);
  return ex;
}

/**
 * Makes a request through the gateway's current runtime: routing, the route's policies, attempts and the
 * response phase, as for a client. Resolves with the collected answer once the request has finished; never
 * rejects (failures are answers with a reason).
 */
export function internalRequest(gateway: Gateway, request: InternalRequest): Promise<InternalResponse> {
  return new Promise((resolve) => {
    const responder = new InternalResponder(gateway, request, resolve);
    const rawPath = request.url.split('?', 1)[0]!;
    const path = normalizePath(rawPath);
    if (path === undefined) {
      responder.ex.path = rawPath.slice(0, 2048);
      responder.answer(reply('bad_path'));
      return;
    }
    responder.ex.path = path;
    routeAndAdmit(responder);
  });
}
