/**
 * From a request to the target that will serve it, shared by plain requests and upgrades: the server
 * stage's limits and path normalisation, route lookup, target pick. Fills in the exchange as it learns
 * (path, route, upstream, target) so every outcome is logged with what was known. A refusal names its
 * reason (and, for 405, the Allow list).
 */
import type { IncomingMessage } from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import type { PolicyContext } from '../pipeline/context.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Target } from '../upstream/target.ts';
import { pickTarget } from '../upstream/upstream.ts';
import type { Exchange } from './exchange.ts';
import { checkRequestTarget } from './server-stage.ts';

export type Resolution =
  | {
    readonly route: RouteRuntime;
    readonly target: Target;
    /** Path to send upstream (before the target's base path), without the query. */
    readonly forwardPath: string;
    /** The query as received, with its "?" (or ""). */
    readonly query: string;
  }
  | { readonly refuse: Reason; readonly allow?: string };

export type Resolved = Exclude<Resolution, { refuse: Reason }>;

/** The path and query to send upstream (before the target's base path): the query as the policies left it, if any ran. */
export function upstreamPath(resolved: Resolved, policy: PolicyContext | undefined): string {
  return resolved.forwardPath + (policy ? policy.query : resolved.query);
}

export function resolveRequest(runtime: Runtime, req: IncomingMessage, ex: Exchange): Resolution {
  const checked = checkRequestTarget(req, ex, runtime.config.server);
  if ('refuse' in checked) return checked;
  const found = preflightLookup(runtime, req, checked.path, ex) ?? runtime.router.lookup(ex.method, checked.path, ex.host, req.headers);
  if (found.kind === 'not_found') return { refuse: 'route_not_found' };
  if (found.kind === 'method_not_allowed') return { refuse: 'method_not_allowed', allow: found.allow };
  const { route, rest } = found.match;
  ex.route = route.name;
  ex.upstream = route.upstream.name;
  const target = pickTarget(route.upstream, req, checked.path, ex.clientIp);
  if (!target) return { refuse: 'no_healthy_upstream' };
  ex.target = target.id;
  return { route, target, forwardPath: route.stripPrefix ? rest : checked.path, query: checked.query };
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is routed by the method it
 * announces, so the route the real request will take answers it — when one of that route's policies
 * declares answersPreflight (cors does).
 */
function preflightLookup(runtime: Runtime, req: IncomingMessage, path: string, ex: Exchange): ReturnType<Runtime['router']['lookup']> | undefined {
  if (ex.method !== 'OPTIONS') return undefined;
  const announced = req.headers['access-control-request-method'];
  if (announced === undefined || req.headers.origin === undefined) return undefined;
  const found = runtime.router.lookup(announced, path, ex.host, req.headers);
  return found.kind === 'found' && found.match.route.answersPreflight ? found : undefined;
}
