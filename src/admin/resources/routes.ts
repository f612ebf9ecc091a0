/** GET /routes: every route of the running config with its match, upstream and policies in run order. */
import { z } from 'zod';
import { jsonReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';
import { routeView } from '../route-view.ts';

export const policyViewSchema = z.object({
  type: z.string(),
  priority: z.number(),
  kind: z.string().describe('auth policies form one group: any one admits.'),
  from: z.enum(['gateway', 'route']).describe('gateway: inherited from the top-level policies; route: its own.'),
}).meta({ id: 'PolicyInOrder' });

export const routeViewSchema = z.object({
  name: z.string(),
  match: z.looseObject({ path: z.string(), exact: z.boolean() }).describe('As in the config: host, path, exact, methods, headers.'),
  upstream: z.string(),
  stripPrefix: z.boolean(),
  preserveHost: z.boolean(),
  timeout: z.number().nullable().describe('ms; null: none.'),
  policies: z.array(policyViewSchema).describe('In the order they run on a request.'),
}).meta({ id: 'Route' });

export const routesResource: Resource = {
  method: 'GET', path: '/routes', access: 'read', summary: 'The routes, with their policies in run order.',
  responses: { 200: { description: 'The routes, in config order.', schema: z.object({ routes: z.array(routeViewSchema) }) } },
  handle: (_req, { state }) => {
    const config = state.config();
    return jsonReply(200, { routes: config.routes.map((route) => routeView(config, route)) });
  },
};
