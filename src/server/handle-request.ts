/**
 * One plain (non-upgrade) request from arrival to forwarding: server stage, routing and the route's policies
 * (admission.ts, shared with upgrades), then the proxy. Each request runs on the runtime current at its
 * arrival and is logged exactly once, when its response closes. Policies that answer from memory keep the
 * whole path synchronous.
 */
import type http from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import type { PolicyContext } from '../pipeline/context.ts';
import { ProxyHandler } from '../proxy/forward.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { admit, type Admittable, type AdmissionSteps } from './admission.ts';
import type { Exchange } from './exchange.ts';
import { sendError, sendLocalReply } from './reply.ts';
import { upstreamPath, type Resolved } from './resolve-request.ts';
import { newExchange, requestHasBody } from './server-stage.ts';

/**
 * A plain request's state from arrival to its log line, in one object: the close listener and admission
 * read it, so neither needs a closure over the separate values.
 */
interface PlainRequest extends Admittable {
  readonly gateway: Gateway;
  readonly res: http.ServerResponse;
  /** The client waits for 100 Continue before sending its body (server 'checkContinue'). */
  readonly expectsContinue: boolean;
  /** Set once the request is forwarded. */
  handler: ProxyHandler | undefined;
}

function refuse(res: http.ServerResponse, ex: Exchange, reason: Reason, headers?: Record<string, string>): void {
  ex.reason = reason;
  ex.status = sendError(res, reason, ex.requestId, headers);
}

/** Answers a request the gateway refuses before routing (e.g. an Expect it cannot meet), and logs it. */
export function refuseRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, reason: Reason): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const ex = newExchange(req, runtime.edge);
  res.on('close', () => {
    runtime.accessLog.write(ex);
    runtime.leave();
  });
  res.shouldKeepAlive = false;
  refuse(res, ex, reason);
}

export function onRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, expectsContinue = false): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const request: PlainRequest = { gateway, runtime, req, res, ex: newExchange(req, runtime.edge), expectsContinue, handler: undefined };
  res.on('close', () => closed(request));
  if (gateway.draining) res.shouldKeepAlive = false;
  admit(PLAIN, request);
}

const PLAIN: AdmissionSteps<PlainRequest> = {
  isUpgrade: false,
  refuse({ res, ex }, reason, allow) {
    refuse(res, ex, reason, allow === undefined ? undefined : { allow });
  },
  gone: (request) => request.res.destroyed,
  answer({ res, ex }, decided, ctx) {
    ex.reason = decided.reason;
    ex.status = sendLocalReply(res, decided, ex.requestId, ctx.responseHeaders);
  },
  proceed: forward,
};

function closed({ handler, ex, runtime }: PlainRequest): void {
  if (handler) handler.clientClosed();
  else if (ex.status === 0) {
    // Gone while policies were still deciding (e.g. a JWKS fetch): nothing was forwarded.
    ex.status = 499;
    ex.reason = 'client_aborted';
  }
  runtime.accessLog.write(ex);
  runtime.leave();
}

function forward(request: PlainRequest, resolved: Resolved, ctx: PolicyContext | undefined): void {
  const { gateway, req, res } = request;
  const hasBody = ctx ? ctx.hasBody : requestHasBody(req);
  const handler = new ProxyHandler(req, res, request.ex, resolved.route, resolved.target, hasBody, gateway.deadlines, request.runtime.edge, ctx);
  request.handler = handler;
  if (request.expectsContinue) res.writeContinue();
  handler.start(upstreamPath(resolved, ctx));
}
