/**
 * Schemas several admin resources share: the error body every refusal carries, and the merged snapshot
 * (src/runtime/snapshot.ts) whose targets GET /upstreams passes through.
 */
import { z } from 'zod';

export const errorSchema = z.object({
  error: z.object({
    status: z.number().int(),
    reason: z.string().describe('A stable snake_case reason (docs/reasons.md).'),
    message: z.string(),
    requestId: z.string().describe('Also in the X-Request-ID header and the process log.'),
  }),
  problems: z.array(z.string()).optional().describe('admin_config_invalid: every problem as "line:col path: message".'),
  errors: z.array(z.string()).optional().describe('admin_reload_failed: why the config could not be applied.'),
}).meta({ id: 'Error' });

/** A target as the snapshot has it; fields added later (health, breaker) pass through. */
export const targetSnapshotSchema = z.looseObject({
  upstream: z.string(),
  url: z.string(),
  inFlight: z.number().int().describe('Attempts in flight now.'),
  available: z.boolean().describe('False while the target gets no traffic (health checks, breakers).'),
  healthy: z.boolean().describe('What active health checks say (true without checks); false when any worker has it down.'),
  breaker: z.enum(['closed', 'open', 'half-open', 'off']).describe('The circuit breaker; with workers, the most severe of theirs. off: the upstream has none.'),
  attempts: z.number().int(),
  failures: z.number().int(),
  latencyEwmaMs: z.number().nullable().describe('Moving average of time to response headers; null before any response.'),
}).meta({ id: 'TargetSnapshot' });

export const snapshotSchema = z.object({
  workers: z.number().int(),
  requests: z.number().int(),
  inFlight: z.number().int(),
  statusClasses: z.record(z.string(), z.number().int()),
  reasons: z.record(z.string(), z.number().int()),
  targets: z.array(targetSnapshotSchema),
}).meta({ id: 'Snapshot' });

const changesSchema = z.object({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.string()) });

export const diffSchema = z.object({
  routes: changesSchema.describe('Routes by name.'),
  upstreams: changesSchema.describe('Upstreams by name.'),
  policies: changesSchema.describe('Policies by type ("cors") when gateway-wide, "ROUTE/TYPE" on a route.'),
  restart: z.array(z.string()).describe('Restart-only settings whose value differs (listen, admin, workers, ...).'),
}).meta({ id: 'ConfigDiff' });

export const reloadResultSchema = z.object({
  ok: z.boolean(),
  trigger: z.string().describe('file, SIGHUP, admin (POST /reload) or admin-config (POST /config).'),
  at: z.string().describe('When it finished (ISO 8601).'),
  summary: z.string().optional().describe('"1 route added, 2 upstreams changed", when it applied.'),
  diff: diffSchema.optional(),
  errors: z.array(z.string()).describe('Why it did not apply.'),
  failure: z.enum(['invalid', 'apply']).optional().describe('invalid: the config has problems (in errors); apply: a worker could not build or apply it.'),
}).meta({ id: 'ReloadResult' });
