/**
 * The admin listener, in the process that owns the workers (the cluster primary with `workers: N`). Each
 * resource is one file under resources/ (its schemas, its handler); this file routes to them, applies the
 * access rules (auth.ts) and turns anything unexpected into a JSON error with a reason and the request ID.
 *
 * HEAD works wherever GET does; a known path with another method gets 405 with Allow, other paths 404, as
 * JSON error bodies. docs/admin-api.md describes every resource; GET /openapi.json serves the same description.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import { errorReply, send, type AdminReply } from './admin-http.ts';
import type { AdminState } from './admin-state.ts';
import { authorize, createSessions, type Sessions } from './auth.ts';
import type { AdminContext, AdminRequest, Resource } from './resource.ts';
import { configResources } from './resources/config.ts';
import { dashboardResources } from './resources/dashboard.ts';
import { docsResources } from './resources/docs.ts';
import { explainResource } from './resources/explain.ts';
import { healthResources } from './resources/health.ts';
import { openapiResource } from './resources/openapi.ts';
import { reloadResource } from './resources/reload.ts';
import { routesResource } from './resources/routes.ts';
import { sessionResources } from './resources/session.ts';
import { statusResource } from './resources/status.ts';
import { upstreamsResource } from './resources/upstreams.ts';

export type { AdminState } from './admin-state.ts';

/** Every resource the admin listener serves, in the order GET /openapi.json lists them. */
export const adminResources: readonly Resource[] = [
  ...healthResources, ...sessionResources, statusResource, ...configResources, routesResource, upstreamsResource,
  reloadResource, explainResource, openapiResource, ...docsResources, ...dashboardResources,
];

export interface AdminOptions {
  /** admin.token as the process started (admin settings take effect on restart). */
  readonly token?: string | undefined;
  /** More resources (e.g. GET /metrics), served like the built-in ones. */
  readonly extra?: readonly Resource[];
  readonly sessions?: Sessions;
}

function matches(resource: Resource, path: string): boolean {
  return resource.path.endsWith('/*') ? path.startsWith(resource.path.slice(0, -1)) : resource.path === path;
}

function route(resources: readonly Resource[], method: string, path: string): Resource | { allow: string } | undefined {
  const here = resources.filter((r) => matches(r, path));
  if (here.length === 0) return undefined;
  const wanted = method === 'HEAD' ? 'GET' : method;
  const found = here.find((r) => r.method === wanted);
  if (found) return found;
  const methods = [...new Set(here.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])))];
  return { allow: methods.join(', ') };
}

export function createAdminServer(state: AdminState, log: Logger, options: AdminOptions = {}): http.Server {
  const resources = [...adminResources, ...(options.extra ?? [])];
  const ctx: AdminContext = { state, log, sessions: options.sessions ?? createSessions(), resources };
  const token = options.token;

  async function answer(req: http.IncomingMessage, requestId: string): Promise<AdminReply> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const found = route(resources, req.method ?? 'GET', url.pathname);
    if (found === undefined) return errorReply('route_not_found', requestId);
    if ('allow' in found) return errorReply('method_not_allowed', requestId, undefined, { allow: found.allow });
    const refused = authorize(req, found.access, token, ctx.sessions);
    if (refused !== undefined) {
      log.warn({ requestId, path: url.pathname, reason: refused }, 'admin request refused');
      const challenge = refused === 'admin_unauthorized' ? { 'www-authenticate': 'Bearer realm="gatehouse-admin"' } : undefined;
      return errorReply(refused, requestId, undefined, challenge);
    }
    const request: AdminRequest = { raw: req, method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, requestId };
    return found.handle(request, ctx);
  }

  return http.createServer((req, res) => {
    const requestId = randomUUID();
    answer(req, requestId).then((reply) => send(req, res, reply, requestId), (error: unknown) => {
      // A client that goes away mid-body is not a failure of ours.
      if (req.destroyed && !req.complete) return void log.debug({ requestId, path: req.url }, 'admin client went away');
      log.error({ err: error, requestId, path: req.url }, 'admin request failed');
      send(req, res, errorReply('internal_error', requestId), requestId);
    });
  });
}
