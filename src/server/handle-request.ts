/**
 * One plain (non-upgrade) request from arrival to forwarding: server stage, routing, the route's policies,
 * then the proxy. Each request runs on the runtime current at its arrival and is logged exactly once, when
 * its response closes. Routes without policies skip the policy context entirely; policies that answer from
 * memory keep the whole path synchronous.
 */
import type http from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import type { PolicyContext } from '../pipeline/context.ts';
import type { LocalReply } from '../pipeline/reply.ts';
import { runRequestPolicies } from '../pipeline/run.ts';
import { ProxyHandler } from '../proxy/forward.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { Exchange } from './exchange.ts';
import { sendError, sendLocalReply } from './reply.ts';
import { noteIdentity, policyContextFor, resolveRequest, type Resolved } from './resolve-request.ts';
import { newExchange, requestHasBody } from './server-stage.ts';

interface InFlight {
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

/** `expectsContinue`: the client waits for 100 Continue before sending its body (server 'checkContinue'). */
export function onRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, expectsContinue = false): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const ex = newExchange(req, runtime.edge);
  const flight: InFlight = { handler: undefined };
  res.on('close', () => {
    if (flight.handler) flight.handler.clientClosed();
    else if (ex.status === 0) {
      // Gone while policies were still deciding (e.g. a JWKS fetch): nothing was forwarded.
      ex.status = 499;
      ex.reason = 'client_aborted';
    }
    runtime.accessLog.write(ex);
    runtime.leave();
  });
  if (gateway.draining) res.shouldKeepAlive = false;

  const resolved = resolveRequest(runtime, req, ex);
  if ('refuse' in resolved) return refuse(res, ex, resolved.refuse, resolved.allow === undefined ? undefined : { allow: resolved.allow });
  const chain = resolved.route.policies;
  if (chain.steps.length === 0) return forward(gateway, req, res, ex, resolved, undefined, flight, expectsContinue);

  const ctx = policyContextFor(req, ex, resolved, false);
  const outcome = runRequestPolicies(chain, ctx);
  if (outcome instanceof Promise) {
    outcome.then((decided) => afterPolicies(gateway, req, res, ex, resolved, ctx, decided, flight, expectsContinue),
      () => refuse(res, ex, 'policy_error'));
  } else {
    afterPolicies(gateway, req, res, ex, resolved, ctx, outcome, flight, expectsContinue);
  }
}

function afterPolicies(
  gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, ex: Exchange, resolved: Resolved,
  ctx: PolicyContext, decided: LocalReply | undefined, flight: InFlight, expectsContinue: boolean,
): void {
  if (res.destroyed) return;
  if (decided) {
    ex.reason = decided.reason;
    ex.status = sendLocalReply(res, decided, ex.requestId, ctx.responseHeaders);
    return;
  }
  noteIdentity(ex, ctx);
  forward(gateway, req, res, ex, resolved, ctx, flight, expectsContinue);
}

function forward(
  gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse, ex: Exchange, resolved: Resolved,
  ctx: PolicyContext | undefined, flight: InFlight, expectsContinue: boolean,
): void {
  const hasBody = ctx ? ctx.hasBody : requestHasBody(req);
  const handler = new ProxyHandler(req, res, ex, resolved.route, resolved.target, hasBody, gateway.deadlines, gateway.runtime.edge, ctx);
  flight.handler = handler;
  if (expectsContinue) res.writeContinue();
  handler.start(resolved.forwardPath + (ctx ? ctx.query : resolved.query));
}
