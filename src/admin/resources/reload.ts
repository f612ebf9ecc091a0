/** POST /reload: reloads the config file now, as SIGHUP does, and answers the reload's result. */
import { errorReply, jsonReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';
import { errorSchema, reloadResultSchema } from './shared-schemas.ts';

export const reloadResource: Resource = {
  method: 'POST', path: '/reload', access: 'change', summary: 'Reload the config file now.',
  description: 'Reloads run one at a time. A config built in memory (gatehouse proxy) reloads as it is.',
  responses: {
    200: { description: 'Applied.', schema: reloadResultSchema },
    422: { description: 'The file has problems (in `problems`); the running config keeps serving.', schema: errorSchema },
    500: { description: 'A worker could not build it; the running config keeps serving.', schema: errorSchema },
  },
  handle: async (req, { state }) => {
    const result = await state.reload();
    if (result.ok) return jsonReply(200, result);
    const invalid = result.failure === 'invalid';
    return errorReply(invalid ? 'admin_config_invalid' : 'admin_reload_failed', req.requestId, invalid ? { problems: result.errors } : { errors: result.errors });
  },
};
