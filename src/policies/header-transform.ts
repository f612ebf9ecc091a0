/**
 * header-transform: edits the request headers forwarded upstream and the response headers sent to the client.
 * On each side the edits apply in one order: `remove`, then `set` (replaces every value), then `append` (adds
 * one more value). The request side edits the client's headers before Gatehouse adds its own; the response
 * side runs in the response phase, on every response of the route (upstream answers and the gateway's own
 * replies alike). Names are case-insensitive. Headers Gatehouse owns are refused when the config is loaded:
 * hop-by-hop and framing headers, Host, X-Request-ID, the X-Forwarded-* family and traceparent on requests,
 * and (checked against the config's `identity`) the identity headers.
 */
import { z } from 'zod';
import { headerValue, lowerHeaderName } from '../fields/http-fields.ts';
import { GATEWAY_OWNED_HEADERS, GATEWAY_OWNED_RESPONSE_HEADERS } from '../net/owned-headers.ts';
import { canonicalHeaderName } from '../pipeline/identity-headers.ts';
import { definePolicy, type HeaderUse, type Policy } from '../pipeline/policy.ts';

/** Request headers Gatehouse sets or that frame the request: never forwarded as a policy says. */
const REQUEST_OWNED: ReadonlySet<string> = new Set([...GATEWAY_OWNED_HEADERS, 'host', 'content-length']);

// Compared in canonical spelling: x_forwarded_for reaches a CGI/WSGI service as X-Forwarded-For.
const nameNotIn = (owned: ReadonlySet<string>, message: string) => lowerHeaderName().refine((s) => !owned.has(canonicalHeaderName(s)), message);

function edits(owned: ReadonlySet<string>, side: 'request' | 'response') {
  const name = nameNotIn(owned, side === 'request'
    ? 'Gatehouse owns this request header (hop-by-hop, framing, Host, X-Request-ID, traceparent or X-Forwarded-*); it cannot be transformed'
    : 'Gatehouse owns this response header (hop-by-hop, Content-Length or X-Request-ID); it cannot be transformed');
  const whose = side === 'request' ? 'forwarded upstream' : 'sent to the client';
  const example = side === 'request' ? '{ x-env: staging }' : '{ cache-control: no-store }';
  return z.strictObject({
    remove: z.array(name).default([]).describe(`Headers not ${whose} (every value).`),
    set: z.record(name, headerValue()).default({}).describe(`Headers ${whose} with exactly this value, replacing any others: ${example}.`),
    append: z.record(name, headerValue()).default({}).describe(`One more value ${whose} for each header, after any others.`),
  }).superRefine((e, ctx) => {
    for (const removed of e.remove) {
      if (Object.hasOwn(e.set, removed)) ctx.addIssue({ code: 'custom', path: ['set', removed], message: `"${removed}" is also in remove; set replaces its values anyway, so remove it from one list` });
    }
  });
}

export const schema = z.strictObject({
  request: edits(REQUEST_OWNED, 'request').optional().describe('Edits to the request headers forwarded upstream.'),
  response: edits(GATEWAY_OWNED_RESPONSE_HEADERS, 'response').optional().describe('Edits to the response headers sent to the client.'),
}).refine((c) => c.request !== undefined || c.response !== undefined, 'give request or response edits (or both)');

type Edits = z.output<ReturnType<typeof edits>>;

const pairsOf = (record: Readonly<Record<string, string>>): ReadonlyArray<readonly [string, string]> => Object.entries(record);

export const headerTransform = definePolicy({
  type: 'header-transform',
  priority: 800,
  kind: 'filter',
  schema,
  doc: 'Removes, sets and appends request headers forwarded upstream and response headers sent to the client (in that order on each side). Headers Gatehouse owns (hop-by-hop, framing, Host, X-Request-ID, X-Forwarded-*, traceparent, identity headers) are refused in the config.',
  upstreamHeaders(settings) {
    const request = settings.request;
    if (request === undefined) return [];
    const uses: HeaderUse[] = request.remove.map((name, i) => ({ path: ['request', 'remove', i], name }));
    for (const list of ['set', 'append'] as const) for (const name of Object.keys(request[list])) uses.push({ path: ['request', list, name], name });
    return uses;
  },
  create(config) {
    const policy: Policy = {};
    const { request, response } = config;
    // Only the sides configured get a phase: a route without response edits builds no response head for it.
    if (request !== undefined) {
      const { remove, set, append } = compiled(request);
      policy.onRequest = (ex) => {
        for (const name of remove) ex.removeRequestHeader(name);
        for (const [name, value] of set) ex.setRequestHeader(name, value);
        for (const [name, value] of append) ex.appendRequestHeader(name, value);
        return undefined;
      };
    }
    if (response !== undefined) {
      const { remove, set, append } = compiled(response);
      policy.onResponse = (_ex, head) => {
        for (const name of remove) head.remove(name);
        for (const [name, value] of set) head.set(name, value);
        for (const [name, value] of append) head.append(name, value);
      };
    }
    return policy;
  },
});

function compiled(e: Edits) {
  return { remove: e.remove, set: pairsOf(e.set), append: pairsOf(e.append) };
}
