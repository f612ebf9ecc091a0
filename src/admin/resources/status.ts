/**
 * GET /status: the version, uptime, worker count, a hash of the running config (equal hashes: equal
 * configs), and the last reload's result with its errors.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import { jsonReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';
import { reloadResultSchema } from './shared-schemas.ts';
import { version } from '../version.ts';

const statusSchema = z.object({
  version: z.string(),
  startedAt: z.string().describe('ISO 8601.'),
  uptimeSeconds: z.number(),
  workers: z.number().int().describe('Worker processes serving (1 without workers).'),
  ready: z.boolean(),
  configFile: z.string().nullable().describe('The config file; null when the config was built in memory (gatehouse proxy).'),
  configHash: z.string().describe('sha256 of the running config as JSON (after defaults), hex.'),
  lastReload: reloadResultSchema.nullable().describe('The last reload of any trigger; null before the first.'),
}).meta({ id: 'Status' });

export function configHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

export const statusResource: Resource = {
  method: 'GET', path: '/status', access: 'read', summary: 'Version, uptime, workers, config hash and the last reload.',
  responses: { 200: { description: 'The status.', schema: statusSchema } },
  handle: (_req, { state }) => jsonReply(200, {
    version,
    startedAt: new Date(state.startedAt).toISOString(),
    uptimeSeconds: Math.round((Date.now() - state.startedAt) / 100) / 10,
    workers: state.workers(),
    ready: state.ready(),
    configFile: state.configFile ?? null,
    configHash: configHash(state.config()),
    lastReload: state.lastReload() ?? null,
  }),
};
