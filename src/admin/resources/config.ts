/**
 * GET /config: the running config (defaults applied) with secrets redacted (redact.ts).
 * POST /config: a YAML (or JSON) body, at most 1 MiB, validated like a config file, environment variables
 * included. With ?dryRun=true it only answers: the problems ("line:col path: message"), or the diff against
 * the running config. Without, a valid config is applied through the same prepare/commit path as a file
 * reload, in every worker or in none. Nothing is written to disk: the file wins again at its next change.
 */
import { z } from 'zod';
import { configDiff, summarize } from '../../config/diff.ts';
import type { ConfigProblem } from '../../config/load.ts';
import { errorReply, jsonReply, readBody } from '../admin-http.ts';
import { redactConfig } from '../redact.ts';
import type { AdminContext, AdminRequest, Resource } from '../resource.ts';
import { diffSchema, errorSchema, reloadResultSchema } from './shared-schemas.ts';

export const MAX_CONFIG_BYTES = 1024 * 1024;

/** `line:col path: message`: the body has no file name. */
export function problemLine(p: ConfigProblem): string {
  return `${p.line}:${p.col} ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

const dryRunSchema = z.object({
  valid: z.boolean(),
  problems: z.array(z.string()).describe('When not valid: every problem as "line:col path: message".'),
  summary: z.string().optional().describe('When valid: "1 route added", or "no changes".'),
  diff: diffSchema.optional().describe('When valid: what applying it would change.'),
}).meta({ id: 'DryRun' });

const configQuery = z.object({
  dryRun: z.enum(['true', 'false']).optional().describe('true: validate and diff only; nothing is applied.'),
});

async function postConfig(req: AdminRequest, { state, log }: AdminContext) {
  const body = await readBody(req.raw, MAX_CONFIG_BYTES);
  // The rest of a too-large body is not read: the connection closes rather than being drained.
  if (body === 'too_large') return errorReply('admin_body_too_large', req.requestId, undefined, { connection: 'close' });
  const loaded = state.check(body.toString('utf8'));
  const dryRun = req.query.get('dryRun') === 'true';
  if (!loaded.ok) {
    const problems = loaded.problems.map(problemLine);
    if (dryRun) return jsonReply(200, { valid: false, problems });
    log.warn({ requestId: req.requestId, problems }, 'POST /config refused: the running config keeps serving');
    return errorReply('admin_config_invalid', req.requestId, { problems });
  }
  if (dryRun) {
    const diff = configDiff(state.config(), loaded.config);
    return jsonReply(200, { valid: true, problems: [], summary: summarize(diff), diff });
  }
  const result = await state.apply(loaded.config);
  return result.ok ? jsonReply(200, result) : errorReply('admin_reload_failed', req.requestId, { errors: result.errors });
}

export const configResources: readonly Resource[] = [
  {
    method: 'GET', path: '/config', access: 'read', summary: 'The running config, secrets redacted.',
    description: 'The validated config with every default applied (the shape of gatehouse.schema.json). Tokens, secrets, passwords (URLs included), API key hashes and credential header values read "[redacted]".',
    responses: { 200: { description: 'The config.', schema: z.record(z.string(), z.unknown()).meta({ id: 'Config' }) } },
    handle: (_req, { state }) => jsonReply(200, redactConfig(state.config())),
  },
  {
    method: 'POST', path: '/config', access: 'change', summary: 'Validate (dryRun=true) or apply a config sent as YAML.',
    query: configQuery,
    requestBody: { contentType: 'application/yaml', description: 'A whole config, as in the file (JSON is YAML too). At most 1 MiB.', schema: z.string() },
    responses: {
      200: { description: 'dryRun=true: the validation result and diff. Otherwise: the applied reload.', schema: z.union([dryRunSchema, reloadResultSchema]) },
      413: { description: 'The body is over 1 MiB.', schema: errorSchema },
      422: { description: 'Not applied: the config has problems (in `problems`).', schema: errorSchema },
      500: { description: 'Not applied: a worker could not build it; the running config keeps serving.', schema: errorSchema },
    },
    handle: postConfig,
  },
];
