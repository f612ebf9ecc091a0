/**
 * request-termination (Kong's plugin of that name): answers every request of the route itself, with a fixed
 * status, body and headers, and never contacts the upstream. For maintenance windows and mocks. It runs last
 * among the request policies, so authentication, IP filters and limits still refuse first. The answer is a
 * content reply: logged with its own status, no reason and `source: "request-termination"`.
 *
 * The body is sent with Content-Length and `contentType`; without a body neither Content-Type nor a body is
 * sent. 204 and 304 cannot carry a body. Headers Gatehouse owns (hop-by-hop, Content-Length, X-Request-ID)
 * and Content-Type (see `contentType`) are refused in `headers`.
 */
import { z } from 'zod';
import { headerValue, lowerHeaderName } from '../fields/http-fields.ts';
import { GATEWAY_OWNED_RESPONSE_HEADERS } from '../net/owned-headers.ts';
import { contentReply } from '../pipeline/local-reply.ts';
import { definePolicy } from '../pipeline/policy.ts';

const headerName = lowerHeaderName().refine((s) => !GATEWAY_OWNED_RESPONSE_HEADERS.has(s) && s !== 'content-type',
  'Gatehouse sets this header itself (hop-by-hop, Content-Length, X-Request-ID; Content-Type comes from contentType)');

export const schema = z.strictObject({
  status: z.number().int().min(200).max(599).default(503).describe('Status of the answer.'),
  body: z.string().optional().describe('Body of the answer (none by default).'),
  contentType: headerValue().min(1).default('text/plain; charset=utf-8').describe('Content-Type of the body; sent only with a body.'),
  headers: z.record(headerName, headerValue()).default({}).describe('More response headers: { retry-after: "3600" }.'),
}).superRefine((c, ctx) => {
  if (c.body !== undefined && (c.status === 204 || c.status === 304)) ctx.addIssue({ code: 'custom', path: ['body'], message: `a ${c.status} answer has no body; remove body or choose another status` });
});

export const SOURCE = 'request-termination';

export const requestTermination = definePolicy({
  type: 'request-termination',
  priority: 2,
  kind: 'filter',
  schema,
  doc: 'Answers every request of the route itself with a fixed status (503 by default), body and headers, without contacting the upstream: for maintenance windows and mocks. Runs after authentication and limits. Logged with source "request-termination" and no reason.',
  create(config) {
    const headers: Record<string, string> = { ...config.headers };
    // Encoded once: the same bytes answer every request.
    const body = config.body === undefined ? undefined : Buffer.from(config.body, 'utf8');
    if (body !== undefined) headers['content-type'] = config.contentType;
    const answer = contentReply(SOURCE, config.status, body, headers);
    return {
      onRequest: () => answer,
    };
  },
});
