/**
 * cors: answers CORS preflights at the gateway (before authentication: a preflight carries no credentials)
 * and sets the CORS response headers on actual requests from allowed origins, in the response phase: they
 * replace whatever Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers the upstream sent (two
 * Allow-Origin headers make browsers reject the response), and an origin the route does not allow gets none. Routing looks a preflight up
 * by the method it announces (Access-Control-Request-Method), so a route limited to POST still gets its
 * preflight rather than 405. `Vary: Origin` is sent on every response of the route, allowed or not, so
 * caches never serve one origin's answer to another. `*` is refused together with credentials.
 */
import { z } from 'zod';
import { headerName, HTTP_METHODS } from '../fields/http-fields.ts';
import { duration } from '../fields/units.ts';
import { definePolicy } from '../pipeline/policy.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';

// Fetch forbids TRACE and CONNECT, so no browser preflights them.
const preflightMethod = z.enum(HTTP_METHODS).exclude(['TRACE', 'CONNECT']);
const token = headerName();
const origin = z.string().refine((s) => s === '*' || /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(s),
  'must be "*" or an origin such as https://app.example.com, optionally with "*." before the host (https://*.example.com)');

export const schema = z.strictObject({
  origins: z.array(origin).min(1).describe('Allowed origins: exact ("https://app.example.com"), a subdomain pattern ("https://*.example.com": any depth, not the bare domain) or "*" (any origin; not with credentials).'),
  methods: z.array(preflightMethod).min(1).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).describe('Methods a preflight may ask for.'),
  allowHeaders: z.array(token).default(['authorization', 'content-type']).describe('Request headers a preflight may ask for (case-insensitive). Include content-type for JSON bodies.'),
  exposeHeaders: z.array(token).default(['x-request-id', 'ratelimit', 'ratelimit-policy', 'retry-after'])
    .describe('Response headers the browser lets scripts read. The default exposes X-Request-Id and the rate limiter\'s RateLimit, RateLimit-Policy and Retry-After.'),
  credentials: z.boolean().default(false).describe('Allow cookies and Authorization (Access-Control-Allow-Credentials: true). Not allowed with origins "*".'),
  maxAge: duration().prefault('10m').describe('How long browsers may cache a preflight answer.'),
}).superRefine((c, ctx) => {
  if (c.credentials && c.origins.includes('*')) ctx.addIssue({ code: 'custom', path: ['origins'], message: '"*" cannot be used with credentials: true (browsers refuse it); list the origins' });
});

/** The response headers cors decides on actual requests; an upstream's copies are replaced. */
const MANAGED = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers'] as const;

// A preflight's answer depends on what it asks for as well as on its origin.
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/** A matcher for the configured origins; exact strings compare case-insensitively. */
export function originMatcher(origins: readonly string[]): (origin: string) => boolean {
  if (origins.includes('*')) return () => true;
  const exact = new Set(origins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
  const patterns = origins.filter((o) => o.includes('*')).map((o) => {
    const [scheme, rest] = o.toLowerCase().split('://*.') as [string, string];
    return { prefix: `${scheme}://`, suffix: `.${rest}` };
  });
  return (value) => {
    // Browsers send origins lower-case: the common case needs no lower-cased copy.
    if (exact.has(value)) return true;
    const lower = value.toLowerCase();
    if (lower !== value && exact.has(lower)) return true;
    for (const { prefix, suffix } of patterns) {
      if (!lower.startsWith(prefix) || !lower.endsWith(suffix)) continue;
      const labels = lower.slice(prefix.length, lower.length - suffix.length);
      if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(labels)) return true;
    }
    return false;
  };
}

export const cors = definePolicy({
  type: 'cors',
  priority: 1900,
  kind: 'filter',
  answersPreflight: true,
  schema,
  doc: 'Cross-origin resource sharing: answers preflights at the gateway (204 cors_preflight, or 403 cors_origin_not_allowed), before authentication, and adds Access-Control-* headers for allowed origins. Vary: Origin on every response.',
  create(config) {
    const allowed = originMatcher(config.origins);
    const anyOrigin = config.origins.includes('*');
    const methods = new Set<string>(config.methods);
    // Browsers list only headers that are not CORS-safelisted (content-type appears when its value is not a
    // safe one, e.g. application/json), so every name asked for must be allowed explicitly.
    const headers = new Set(config.allowHeaders.map((h) => h.toLowerCase()));
    const allowOrigin = (origin: string) => (anyOrigin ? '*' : origin);
    const allowMethods = config.methods.join(', ');
    const listedHeaders = config.allowHeaders.join(', ');
    const maxAge = String(Math.floor(config.maxAge / 1000));
    const preflightHeaders = (origin: string, requested: string): Record<string, string> => {
      const out: Record<string, string> = {
        'access-control-allow-origin': allowOrigin(origin),
        'access-control-allow-methods': allowMethods,
        'access-control-allow-headers': requested === '' ? listedHeaders : requested,
        'access-control-max-age': maxAge,
      };
      if (config.credentials) out['access-control-allow-credentials'] = 'true';
      out.vary = PREFLIGHT_VARY;
      return out;
    };
    const refusal: LocalReply = reply('cors_origin_not_allowed', { vary: PREFLIGHT_VARY });
    const exposed = config.exposeHeaders.join(', ');
    return {
      onRequest(ctx) {
        const origin = ctx.headers.origin;
        const requestedMethod = ctx.headers['access-control-request-method'];
        if (ctx.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined) {
          const requested = (ctx.headers['access-control-request-headers'] ?? '').toLowerCase().split(',').map((h) => h.trim()).filter(Boolean);
          if (!allowed(origin) || !methods.has(requestedMethod) || !requested.every((h) => headers.has(h))) return refusal;
          return { status: 204, reason: 'cors_preflight', headers: preflightHeaders(origin, requested.join(', ')), empty: true };
        }
        return undefined;
      },
      onResponse(ex, head) {
        // A preflight's own answers carry their headers already.
        if (ex.reason === 'cors_preflight' || ex.reason === 'cors_origin_not_allowed') return;
        head.append('vary', 'Origin');
        for (const name of MANAGED) head.remove(name);
        const origin = ex.headers.origin;
        if (origin === undefined || !allowed(origin)) return;
        head.append('access-control-allow-origin', allowOrigin(origin));
        if (config.credentials) head.append('access-control-allow-credentials', 'true');
        if (exposed !== '') head.append('access-control-expose-headers', exposed);
      },
    };
  },
});
