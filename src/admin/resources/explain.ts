/**
 * GET /explain?method=GET&host=…&path=…&header=name:value: which route would serve the request, its
 * policies in order, its upstream and the target the balancer would pick now, without taking its turn.
 * Nothing is sent anywhere and no counter moves.
 */
import { z } from 'zod';
import { HTTP_METHODS } from '../../fields/http-fields.ts';
import { errorReply, jsonReply } from '../admin-http.ts';
import { explainRequest, type ExplainInput } from '../explain-request.ts';
import { redactConfig } from '../redact.ts';
import type { AdminRequest, AdminContext, Resource } from '../resource.ts';
import { routeViewSchema } from './routes.ts';
import { errorSchema } from './shared-schemas.ts';

const explainQuery = z.object({
  method: z.enum(HTTP_METHODS).optional().describe('Default GET.'),
  host: z.string().optional().describe('The Host header (port ignored).'),
  path: z.string().describe('The request path, query allowed.'),
  header: z.string().optional().describe('name:value; repeat the parameter for more headers.'),
  ip: z.string().optional().describe('The client address, for hashOn: ip (default 127.0.0.1).'),
});

const explanationSchema = z.object({
  request: z.looseObject({ method: z.string(), path: z.string(), normalizedPath: z.string().nullable() }),
  outcome: z.enum(['found', 'route_not_found', 'method_not_allowed', 'bad_path']).describe('found, or the reason the gateway would answer with.'),
  allow: z.string().optional().describe('method_not_allowed: the methods that would match.'),
  route: routeViewSchema.optional(),
  forwardedPath: z.string().optional(),
  upstream: z.object({ name: z.string(), balancer: z.string(), hashKey: z.string().nullable() }).optional(),
  target: z.object({ url: z.string().nullable(), note: z.string() }).optional(),
}).meta({ id: 'Explanation' });

/** The request described by the query, or the complaint about it. */
export function explainInput(query: URLSearchParams): ExplainInput | string {
  const method = (query.get('method') ?? 'GET').toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) return `method must be one of ${HTTP_METHODS.join(', ')}`;
  const path = query.get('path');
  if (path === null || !path.startsWith('/')) return 'path is required and starts with "/"';
  const headers: Record<string, string> = {};
  for (const h of query.getAll('header')) {
    const colon = h.indexOf(':');
    if (colon < 1) return `header must be name:value, got "${h}"`;
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const host = query.get('host') ?? headers.host ?? undefined;
  return { method, host, path, headers, clientIp: query.get('ip') ?? undefined };
}

async function explain(req: AdminRequest, { state }: AdminContext) {
  const input = explainInput(req.query);
  if (typeof input === 'string') return errorReply('admin_bad_request', req.requestId, { problems: [input] });
  const snapshot = await state.snapshot();
  const live = new Map(snapshot.targets.map((t) => [`${t.upstream} ${t.url}`, t]));
  return jsonReply(200, redactConfig(explainRequest(state.config(), input, { peekLive: state.peekTarget?.bind(state), live })));
}

export const explainResource: Resource = {
  method: 'GET', path: '/explain', access: 'read', summary: 'Which route, policies, upstream and target would serve a request.',
  query: explainQuery,
  responses: { 200: { description: 'The explanation.', schema: explanationSchema }, 400: { description: 'A parameter is missing or malformed.', schema: errorSchema } },
  handle: explain,
};
