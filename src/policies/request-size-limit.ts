/**
 * request-size-limit: refuses request bodies larger than `maxBytes`. A declared Content-Length over the
 * limit gets 413 before any upstream is contacted (and, with Expect: 100-continue, before the client sends
 * the body). Chunked bodies are counted while they stream; crossing the limit aborts the upstream attempt.
 */
import { z } from 'zod';
import { size } from '../fields/units.ts';
import { definePolicy } from '../pipeline/policy.ts';
import { reply } from '../pipeline/local-reply.ts';

export const schema = z.strictObject({
  maxBytes: size().describe('Largest accepted request body, e.g. "1MiB" (2^20), "1MB" (10^6) or 1048576.'),
});

export const requestSizeLimit = definePolicy({
  type: 'request-size-limit',
  priority: 950,
  kind: 'filter',
  schema,
  doc: 'Refuses request bodies over maxBytes with 413 request_body_too_large: at once when the declared Content-Length is over, or by aborting the upstream attempt when a streamed body crosses the limit.',
  create(config) {
    const tooLarge = reply('request_body_too_large');
    return {
      onRequest(ctx) {
        const declared = ctx.contentLength;
        if (declared !== undefined && declared > config.maxBytes) return tooLarge;
        if (ctx.hasBody) ctx.limitBody(config.maxBytes);
        return undefined;
      },
    };
  },
});
