/**
 * Admission, shared by plain requests and upgrades: from a request to the decision to forward it. Resolve
 * the route and target, run the route's policies (synchronously while they answer from memory), then answer
 * a policy's local reply or proceed. A route without policies builds no policy context at all.
 *
 * Each path says how it refuses, answers and proceeds in one AdmissionSteps object made once per path, not
 * per request, and passes the state it keeps per request anyway: the synchronous path allocates nothing
 * here beyond the policy context, and only a policy that returns a promise costs the callbacks of a then().
 */
import type { IncomingMessage } from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import { PolicyContext } from '../pipeline/context.ts';
import type { LocalReply } from '../pipeline/reply.ts';
import { isPromise, runRequestPolicies } from '../pipeline/run.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Exchange } from './exchange.ts';
import { resolveRequest, type Resolved } from './resolve-request.ts';
import { requestHasBody } from './server-stage.ts';

/** What admission reads from a path's per-request state. */
export interface Admittable {
  /** The runtime current at the request's arrival. */
  readonly runtime: Runtime;
  readonly req: IncomingMessage;
  readonly ex: Exchange;
}

export interface AdmissionSteps<R extends Admittable> {
  readonly isUpgrade: boolean;
  /** A refusal by the gateway itself: routing's (`allow` is the Allow list of a 405), or policy_error. */
  refuse(request: R, reason: Reason, allow: string | undefined): void;
  /** Whether the client went away while the policies decided; then nothing more is done. */
  gone(request: R): boolean;
  /** A policy answered locally (a refusal, or e.g. a CORS preflight's 204). */
  answer(request: R, reply: LocalReply, ctx: PolicyContext): void;
  /** Admitted; `ctx` is undefined when the route has no policies. */
  proceed(request: R, resolved: Resolved, ctx: PolicyContext | undefined): void;
}

export function admit<R extends Admittable>(steps: AdmissionSteps<R>, request: R): void {
  const { req, ex } = request;
  const resolved = resolveRequest(request.runtime, req, ex);
  if ('refuse' in resolved) return steps.refuse(request, resolved.refuse, resolved.allow);
  const chain = resolved.route.policies;
  if (chain.steps.length === 0) return steps.proceed(request, resolved, undefined);
  const isUpgrade = steps.isUpgrade;
  const ctx = new PolicyContext({
    requestId: ex.requestId, route: resolved.route.name, method: ex.method, path: ex.path, query: resolved.query,
    clientIp: ex.clientIp, headers: req.headers, isUpgrade, hasBody: !isUpgrade && requestHasBody(req),
  });
  const outcome = runRequestPolicies(chain, ctx);
  if (isPromise(outcome)) decideLater(steps, request, resolved, ctx, outcome);
  else decide(steps, request, resolved, ctx, outcome);
}

// Kept out of admit(): V8 would allocate the context these callbacks capture on every call of admit(),
// including the synchronous ones that never reach them.
function decideLater<R extends Admittable>(
  steps: AdmissionSteps<R>, request: R, resolved: Resolved, ctx: PolicyContext, outcome: Promise<LocalReply | undefined>,
): void {
  outcome.then((decided) => decide(steps, request, resolved, ctx, decided), () => steps.refuse(request, 'policy_error', undefined));
}

function decide<R extends Admittable>(
  steps: AdmissionSteps<R>, request: R, resolved: Resolved, ctx: PolicyContext, decided: LocalReply | undefined,
): void {
  if (steps.gone(request)) return;
  if (decided) return steps.answer(request, decided, ctx);
  // Who the policies admitted, for the access log.
  const identity = ctx.identity;
  if (identity) request.ex.consumer = identity.consumer ?? identity.subject;
  steps.proceed(request, resolved, ctx);
}
