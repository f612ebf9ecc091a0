/**
 * GET /live (200 while the process answers), GET /ready (200 when a config is loaded, every worker serves
 * and none drains; 503 otherwise: the gateway's own readiness, upstream health is not part of it, see
 * docs/traffic-control.md), both without a token for orchestrators' probes; and GET /snapshot, the
 * traffic and targets of every worker merged into one object of the same shape with 1 or N workers.
 */
import { z } from 'zod';
import { jsonReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';
import { snapshotSchema } from './shared-schemas.ts';

const liveSchema = z.object({ status: z.literal('live') });
const readySchema = z.object({ status: z.enum(['ready', 'not_ready']) });

export const healthResources: readonly Resource[] = [
  {
    method: 'GET', path: '/live', access: 'public', summary: 'Liveness: 200 while the process answers.',
    responses: { 200: { description: 'The process answers.', schema: liveSchema } },
    handle: () => jsonReply(200, { status: 'live' }),
  },
  {
    method: 'GET', path: '/ready', access: 'public', summary: 'Readiness: 200 when every worker serves the config and none drains. The gateway\'s own readiness: upstream health is not part of it (docs/traffic-control.md).',
    responses: { 200: { description: 'Ready.', schema: readySchema }, 503: { description: 'Starting or draining.', schema: readySchema } },
    handle: (_req, { state }) => (state.ready() ? jsonReply(200, { status: 'ready' }) : jsonReply(503, { status: 'not_ready' })),
  },
  {
    method: 'GET', path: '/snapshot', access: 'read', summary: 'Traffic and targets of every worker, merged.',
    description: 'Counters are totals since each worker started (a replaced worker starts again from zero).',
    responses: { 200: { description: 'The merged snapshot.', schema: snapshotSchema } },
    handle: async (_req, { state }) => jsonReply(200, await state.snapshot()),
  },
];
