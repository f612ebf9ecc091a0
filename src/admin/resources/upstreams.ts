/**
 * GET /upstreams: every upstream with its balancer and targets; each target joins its config (url, weight)
 * with the merged snapshot's live fields (availability, in flight, attempts, failures, latency, and health
 * and breaker state where traffic control reports them), passed through as the snapshot has them.
 */
import { z } from 'zod';
import { jsonReply } from '../admin-http.ts';
import { redactConfig } from '../redact.ts';
import type { Resource } from '../resource.ts';
import { targetSnapshotSchema } from './shared-schemas.ts';

const upstreamViewSchema = z.object({
  name: z.string(),
  balancer: z.string(),
  hashOn: z.unknown().optional(),
  targets: z.array(targetSnapshotSchema.extend({ weight: z.number().int() })),
}).meta({ id: 'Upstream' });

export const upstreamsResource: Resource = {
  method: 'GET', path: '/upstreams', access: 'read', summary: 'Upstreams and their targets: availability, health, breaker, in flight, latency.',
  responses: { 200: { description: 'The upstreams, in config order.', schema: z.object({ upstreams: z.array(upstreamViewSchema) }) } },
  handle: async (_req, { state }) => {
    const config = state.config();
    const snapshot = await state.snapshot();
    const live = new Map(snapshot.targets.map((t) => [`${t.upstream} ${t.url}`, t]));
    const upstreams = Object.entries(config.upstreams).map(([name, upstream]) => ({
      name,
      balancer: upstream.balancer,
      hashOn: upstream.hashOn,
      targets: upstream.targets.map((target) => ({
        // A target the workers have not reported yet (just reloaded in) shows its config and idle state.
        upstream: name, inFlight: 0, available: true, healthy: true, breaker: 'closed', attempts: 0, failures: 0, latencyEwmaMs: null,
        ...live.get(`${name} ${target.url}`), url: target.url, weight: target.weight,
      })),
    }));
    return jsonReply(200, redactConfig({ upstreams }));
  },
};
