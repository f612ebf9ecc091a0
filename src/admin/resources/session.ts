/**
 * POST /session trades the bearer token for a session a browser can hold: an HttpOnly, SameSite=Strict
 * cookie that reads (and /events) accept, and a CSRF token, returned once in the body, that changes made
 * with the cookie must echo in X-CSRF-Token. DELETE /session ends it. See auth.ts for the rules.
 */
import { z } from 'zod';
import { jsonReply } from '../admin-http.ts';
import { CSRF_HEADER, sessionIdOf } from '../auth.ts';
import type { Resource } from '../resource.ts';
import { errorSchema } from './shared-schemas.ts';

const sessionSchema = z.object({
  csrfToken: z.string().describe(`Send it as ${CSRF_HEADER} with every change (POST) made with the cookie.`),
  csrfHeader: z.literal(CSRF_HEADER),
  expiresAt: z.string().describe('When the cookie stops working (ISO 8601).'),
}).meta({ id: 'Session' });

export const sessionResources: readonly Resource[] = [
  {
    method: 'POST', path: '/session', access: 'session', summary: 'Trade the bearer token for a session cookie and a CSRF token.',
    description: 'Needs Authorization: Bearer TOKEN. Sets an HttpOnly, SameSite=Strict cookie (8 hours).',
    responses: { 200: { description: 'The session; the cookie is in Set-Cookie.', schema: sessionSchema }, 401: { description: 'No or wrong token.', schema: errorSchema } },
    handle: (_req, { sessions }) => {
      const session = sessions.open();
      const body = { csrfToken: session.csrfToken, csrfHeader: CSRF_HEADER, expiresAt: new Date(session.expiresAt).toISOString() };
      return jsonReply(200, body, { 'set-cookie': sessions.cookie(session) });
    },
  },
  {
    method: 'DELETE', path: '/session', access: 'change', summary: 'End the session: the cookie stops working.',
    responses: { 200: { description: 'Ended.', schema: z.object({ ended: z.literal(true) }) } },
    handle: (req, { sessions }) => {
      sessions.close(sessionIdOf(req.raw));
      return jsonReply(200, { ended: true }, { 'set-cookie': sessions.clearCookie() });
    },
  },
];
