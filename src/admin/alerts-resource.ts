/**
 * GET /alerts: the rules that are pending or firing now (`active`), the last 100 transitions, newest first
 * (`recent`: pending, firing, resolved and cleared), and each webhook's delivered, failed and dropped
 * deliveries (`webhooks`), as docs/alerts.md shows.
 */
import { z } from 'zod';
import type { AlertEngine } from '../alerts/alert-engine.ts';
import { jsonReply } from './admin-http.ts';
import type { Resource } from './resource.ts';

const transition = z.object({
  rule: z.string(), state: z.enum(['pending', 'firing', 'resolved', 'cleared']), severity: z.string(), signal: z.string(),
  route: z.string().nullable(), upstream: z.string().nullable(), value: z.number().nullable(), threshold: z.number(),
  op: z.enum(['above', 'below']), since: z.string(), at: z.string(), description: z.string().nullable(), instance: z.string(), text: z.string(),
});

export const alertsResponse = z.object({
  active: z.array(z.object({
    rule: z.string(), state: z.enum(['pending', 'firing']), severity: z.string(), signal: z.string(),
    value: z.number().nullable(), threshold: z.number(), since: z.string(),
  })),
  recent: z.array(transition),
  webhooks: z.record(z.string(), z.object({ delivered: z.number(), failedAttempts: z.number(), dropped: z.number() })),
});

export function alertsResource(engine: AlertEngine): Resource {
  return {
    method: 'GET', path: '/alerts', access: 'read', summary: 'Alert rules pending or firing, and the last 100 transitions.',
    responses: { 200: { description: 'Active alerts, recent transitions, webhook delivery counts.', schema: alertsResponse } },
    handle: () => jsonReply(200, { active: engine.active(), recent: engine.recent(), webhooks: engine.webhookCounts() }),
  };
}
