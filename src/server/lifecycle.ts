/**
 * The request lifecycle, shared by plain requests and upgrades. One request walks these phases, each named
 * once (docs/lifecycle.md has the diagram):
 *
 *   server stage      request ID, trace context, client IP, identity headers stripped (server-stage.ts),
 *                     then the HTTP version, size limits and path checked
 *   route             the router: host/path/method/headers -> route, or 404 / 405
 *   request policies  priority order; a local reply (with or without a body) answers now
 *   attempt(s)        the responder's forward(): an available target, one dispatch (proxy/)
 *   response phase    the responder runs the route's response policies on the head, then writes it
 *   finish            exactly once, when the client side closes (finish.ts)
 *
 * The target is picked only after the policies admitted the request, so requests the gateway refuses never
 * move a balancer or count against a target. A responder is the client side of one request — an HTTP
 * response (http-responder.ts) or a raw socket (socket-responder.ts) — and says how to answer and forward.
 */
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../pipeline/exchange.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import { isPromise, runRequestPolicies } from '../pipeline/run.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { checkRequest } from './server-stage.ts';

export interface Responder {
  /** The runtime current at the request's arrival; the request runs on it to the end. */
  readonly runtime: Runtime;
  readonly ex: Exchange;
  /** Set by routing. */
  route: RouteRuntime | undefined;
  /** The client went away while the policies decided; then nothing more is done. */
  gone(): boolean;
  /** Answers with a local reply: through the response phase, then written. */
  answer(local: LocalReply): void;
  /** Admitted: the upstream attempt(s). */
  forward(): void;
}

export function runLifecycle(responder: Responder, req: IncomingMessage): void {
  const refused = checkRequest(req, responder.ex, responder.runtime.config.server);
  if (refused !== undefined) return responder.answer(reply(refused));
  routeAndAdmit(responder);
}

/**
 * From routing on: route, request policies, then the responder's attempts or local reply. A request the
 * gateway makes itself (internal-responder.ts) starts here, its exchange already checked.
 */
export function routeAndAdmit(responder: Responder): void {
  const { ex, runtime } = responder;
  const found = preflightLookup(runtime, ex) ?? runtime.router.lookup(ex.method, ex.path, ex.host, ex.headers);
  if (found.kind === 'not_found') return responder.answer(reply('route_not_found'));
  if (found.kind === 'method_not_allowed') return responder.answer(reply('method_not_allowed', { allow: found.allow }));
  const { route, rest } = found.match;
  responder.route = route;
  ex.route = route.name;
  ex.upstream = route.upstream.name;
  ex.forwardPath = route.stripPrefix ? rest : ex.path;
  ex.answerWithin = route.timeout ?? route.upstream.config.timeouts.response;
  const chain = route.policies;
  if (chain.steps.length === 0) return responder.forward();
  const outcome = runRequestPolicies(chain, ex);
  if (isPromise(outcome)) decideLater(responder, outcome);
  else decide(responder, outcome);
}

// Kept out of runLifecycle(): V8 would allocate the context these callbacks capture on every call,
// including the synchronous ones that never reach them.
function decideLater(responder: Responder, outcome: Promise<LocalReply | undefined>): void {
  outcome.then((decided) => decide(responder, decided), () => decide(responder, reply('policy_error')));
}

function decide(responder: Responder, decided: LocalReply | undefined): void {
  if (responder.gone()) return;
  if (decided) responder.answer(decided);
  else responder.forward();
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is routed by the method it
 * announces, so the route the real request will take answers it — when one of that route's policies
 * declares answersPreflight (cors does).
 */
function preflightLookup(runtime: Runtime, ex: Exchange): ReturnType<Runtime['router']['lookup']> | undefined {
  if (ex.method !== 'OPTIONS') return undefined;
  const announced = ex.headers['access-control-request-method'];
  if (announced === undefined || ex.headers.origin === undefined) return undefined;
  const found = runtime.router.lookup(announced, ex.path, ex.host, ex.headers);
  return found.kind === 'found' && found.match.route.answersPreflight ? found : undefined;
}
