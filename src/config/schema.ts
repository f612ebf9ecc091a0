/**
 * The one canonical shape of a Gatehouse config. YAML is only the adapter: load.ts parses YAML, this schema
 * validates it, and every `.describe()` here is the user documentation (docs/configuration.md is generated
 * from it). Objects are strict: an unknown key is an error, never silently ignored.
 */
import { z } from 'zod';
import { cidr } from '../net/ip-set.ts';
import { GATEWAY_OWNED_HEADERS } from '../net/owned-headers.ts';
import { canonicalHeaderName, identityHeaders, isIdentityHeader } from '../pipeline/identity-headers.ts';
import { headerName, host, HTTP_METHODS, lowerHeaderName, port } from '../fields/http-fields.ts';
import { policyDefinition } from '../policies/policy-registry.ts';
import { policyListSchema, type PolicyEntry } from './policies-schema.ts';
import { listenTlsSchema } from './tls-schema.ts';
import { redisSchema } from '../redis/redis-schema.ts';
import { tracingSchema } from '../tracing/tracing-schema.ts';
import { upstreamSchema, type BalancerName, type HashOn, type TargetConfig, type UpstreamConfig } from '../upstream/upstream-schema.ts';
import { duration, size } from '../fields/units.ts';
import { retrySchema } from '../retry/route-retry.ts';
import { alertReferenceIssues, alertsSchema } from './alerts-schema.ts';

export const listenSchema = z.strictObject({
  host: host().default('0.0.0.0').describe('Address the gateway listens on.'),
  port: port().default(8080).describe('Port the gateway listens on (0 picks a free port).'),
  tls: listenTlsSchema.optional(),
}).describe('Where the gateway accepts client traffic: plain HTTP, or HTTPS (with HTTP/2) when `tls` is set.');

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) and localhost: the addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export const adminSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Serve the admin listener: health (/live, /ready), the admin API and its docs (docs/admin-api.md).'),
  host: host().default('127.0.0.1').describe('Address of the admin listener. Keep it on loopback or a private network; any other address needs `token`.'),
  port: port().default(9901).describe('Port of the admin listener (0 picks a free port).'),
  token: z.string().min(16, 'admin.token must be at least 16 characters (e.g. openssl rand -hex 32)').optional()
    .describe('Bearer token for every admin endpoint but /live, /ready, /metrics, /openapi.json and /docs. Required when `host` is not a loopback address. Take it from the environment: token: ${GATEHOUSE_ADMIN_TOKEN}.'),
}).superRefine((admin, ctx) => {
  if (!admin.enabled || admin.token !== undefined || isLoopbackHost(admin.host)) return;
  ctx.addIssue({
    code: 'custom', path: ['host'],
    message: `the admin listener on ${admin.host} (not loopback) needs admin.token: without it anyone who reaches the port could reload or replace the config. ` +
      'Set admin.token (e.g. token: ${GATEHOUSE_ADMIN_TOKEN}) or bind admin.host to 127.0.0.1. Earlier versions accepted this config (see CHANGELOG.md)',
  });
}).describe('The admin listener: liveness and readiness for orchestrators, and the admin API (status, config, routes, upstreams, reload, explain).');

export const metricsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Count requests, upstream attempts and targets, and serve them at GET /metrics on the admin listener (Prometheus text format; docs/metrics.md names every series). false saves their per-request cost. Read at startup: a change takes effect on restart.'),
}).describe('Prometheus metrics.');

export const liveStatsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Keep rolling per-second windows of every route and upstream (counts, reasons, latency percentiles) for the dashboard, GET /events and alert rules (docs/alerts.md). false saves their per-request cost; alert rules then have nothing to read, so a config with rules is refused. Read at startup: a change takes effect on restart.'),
}).describe('Live statistics for the dashboard and alert rules.');

export const serverSchema = z.strictObject({
  maxUrlLength: size().prefault('8KiB').describe('Longest accepted request target (path + query); longer gets 414 uri_too_long.'),
  maxHeaderSize: size().prefault('16KiB').describe('Largest accepted request head (request line + headers); larger gets 431 headers_too_large.'),
  headersTimeout: duration().prefault('10s').describe('Time a client has to send the complete request head; slower gets 408 request_timeout.'),
  requestTimeout: duration().prefault('0s').describe('Time a client has to send the whole request, body included (0 = no limit: bodies are bounded by routes\' idleTimeout instead).'),
  keepAliveTimeout: duration().prefault('5s').describe('How long an idle client keep-alive connection stays open.'),
  drainTimeout: duration().prefault('30s').describe('On shutdown, how long in-flight requests may take before connections are closed.'),
  maxConnections: z.number().int().min(1).optional().describe('Most concurrent client connections; further connections are closed at once. Default: no limit.'),
  trustedProxies: z.array(cidr).default([]).describe('Peers (IPs or CIDR blocks) whose X-Forwarded-For/-Proto/-Host are believed. The client IP is then the first untrusted address in X-Forwarded-For read from the right. From any other peer those headers are replaced.'),
}).describe('Limits and timeouts of the client-facing HTTP server, and which proxies in front of it are trusted.');

/**
 * Headers no identity header may be named after: Gatehouse or HTTP itself sets them (the proxy's list, so the
 * two cannot drift apart), plus the framing and credential headers services need from the client. Compared in
 * canonical spelling, since x_request_id reaches a CGI/WSGI service as X-Request-ID.
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([...GATEWAY_OWNED_HEADERS, 'host', 'content-length', 'authorization', 'cookie']);
const identityHeader = lowerHeaderName()
  .refine((s) => !RESERVED_HEADERS.has(canonicalHeaderName(s)), 'this header is set by Gatehouse or HTTP itself; choose another name');

export const identitySchema = z.strictObject({
  consumerHeader: identityHeader.default('x-consumer-id').describe('Header carrying the authenticated consumer (API-key owner).'),
  subjectHeader: identityHeader.default('x-user-id').describe('Header carrying the token subject (sub).'),
  scopesHeader: identityHeader.default('x-user-scopes').describe('Header carrying the token scopes, space-separated.'),
  claimHeaders: z.record(identityHeader, z.string().min(1)).default({}).describe('More headers from token claims: { x-tenant-id: tenant }. Arrays are joined with spaces; objects are sent as JSON.'),
  stripHeaders: z.array(identityHeader).default([]).describe('More header names removed from every client request, like the identity headers (e.g. headers your services trust from an older gateway).'),
}).describe('The trusted identity headers Gatehouse sends to services after authentication. Every client-sent copy of every one of them (underscore variants too: X_User_Id) is removed from every request, authenticated or not, before routing.');

export const logSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Level of the process log (startup, reloads, errors).'),
  access: z.strictObject({
    enabled: z.boolean().default(true).describe('Write one JSON line per request.'),
    path: z.string().default('stdout').describe('"stdout", "stderr", or a file path the access log is appended to.'),
  }).prefault({}).describe('The access log.'),
}).describe('Logging.');

export const routeMatchSchema = z.strictObject({
  host: z.string().regex(/^(\*\.)?[a-z0-9.-]+$/i, 'must be a host name, optionally starting with "*."').optional()
    .describe('Host header to match (port ignored, case-insensitive). "*.example.com" matches any subdomain.'),
  path: z.string().regex(/^\/[^?#\s]*$/, 'must start with "/" and contain no query, fragment or spaces').default('/')
    .describe('Path to match. A prefix at segment boundaries ("/api" matches "/api" and "/api/x", never "/apix"); ":name" segments are parameters.'),
  exact: z.boolean().default(false).describe('Match the path exactly (a trailing slash is still tolerated) instead of as a prefix.'),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).optional().describe('Allowed methods; others get 405 method_not_allowed with Allow. Default: all.'),
  headers: z.record(headerName(), z.string()).optional().describe('Request headers that must be present with exactly these values, e.g. { x-api-version: "2" }.'),
}).describe('What requests this route takes.');

export const routeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must contain only letters, digits, ".", "_" and "-"').describe('Unique name; appears in logs and metrics.'),
  match: routeMatchSchema,
  upstream: z.string().describe('Name of the upstream that serves this route.'),
  stripPrefix: z.boolean().default(false).describe('Remove the matched path prefix before forwarding ("/api/users/1" -> "/1").'),
  preserveHost: z.boolean().default(true).describe('Forward the client\'s Host header; false sends the target\'s host instead.'),
  timeout: duration().optional().describe('Deadline from the request\'s arrival until response headers; slower gets 504 route_timeout.'),
  idleTimeout: duration().optional().describe('Longest silence while bodies stream either way (defaults to the upstream\'s timeouts.bodyIdle).'),
  upgradeIdleTimeout: duration().prefault('10m').describe('Longest silence on an upgraded (WebSocket) connection before it is closed.'),
  policies: policyListSchema.default([]).describe('Policies for this route (see docs/policies.md). A policy of the same type as a gateway-wide one replaces it for this route, except rate-limit: a route\'s own rate-limit adds its limits to the inherited ones.'),
  inheritPolicies: z.boolean().default(true).describe('Apply the gateway-wide policies (top-level `policies`) to this route. false: only the route\'s own.'),
  retry: retrySchema.optional(),
}).describe('Maps matching requests to an upstream.');

export const configSchema = z.strictObject({
  listen: listenSchema.prefault({}),
  admin: adminSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  liveStats: liveStatsSchema.prefault({}),
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1)
    .describe('Worker processes sharing the listener: a number, or "auto" for one per CPU core.'),
  server: serverSchema.prefault({}),
  log: logSchema.prefault({}),
  identity: identitySchema.prefault({}),
  policies: policyListSchema.default([]).describe('Policies applied to every route (a route can replace one by type, or opt out with inheritPolicies: false).'),
  upstreams: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'upstream names contain only letters, digits, ".", "_" and "-"'), upstreamSchema)
    .describe('Named upstreams.'),
  routes: z.array(routeSchema).describe('Routes, matched by host, path, method and headers; the most specific path wins.'),
  redis: redisSchema.optional(),
  tracing: tracingSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
}).superRefine((config, ctx) => {
  for (const issue of referenceIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of identityIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of redisStoreIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of memoryIdempotencyIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of addedStoreIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  if (!config.liveStats.enabled && config.alerts.rules.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['alerts', 'rules'], message: 'alert rules read the live statistics: set liveStats.enabled: true, or remove the rules' });
  }
});

/**
 * The idempotency policy's memory store belongs to one process: with several workers, one worker cannot see
 * another's in-flight duplicate, so a repeat could run twice. The error is at its `store` (the default is memory).
 */
function memoryIdempotencyIssues(config: { workers: number | 'auto'; policies: readonly PolicyEntry[]; routes: ReadonlyArray<{ policies: readonly PolicyEntry[] }> }) {
  if (config.workers === 1) return [];
  const message = `idempotency with store: memory cannot see duplicates across workers (workers: ${config.workers}); use store: redis, or workers: 1`;
  const inMemory = (entry: PolicyEntry) => entry.type === 'idempotency' && (entry as { store?: unknown }).store === 'memory';
  return [
    ...config.policies.flatMap((entry, i) => (inMemory(entry) ? [{ path: ['policies', i, 'store'], message }] : [])),
    ...config.routes.flatMap((route, r) => route.policies.flatMap((entry, i) => (inMemory(entry) ? [{ path: ['routes', r, 'policies', i, 'store'], message }] : []))),
  ];
}

/**
 * A route's own rate-limit adds to the inherited one and both are checked in one atomic step, which one store
 * can do and two cannot: the route's `store` must be the inherited one's.
 */
function addedStoreIssues(config: { policies: readonly PolicyEntry[]; routes: ReadonlyArray<{ policies: readonly PolicyEntry[]; inheritPolicies: boolean }> }) {
  return config.routes.flatMap((route, r) => route.policies.flatMap((entry, i) => {
    if (!route.inheritPolicies || policyDefinition(entry.type)?.addsToInherited !== true) return [];
    const inherited = config.policies.find((d) => d.type === entry.type);
    if (inherited === undefined || inherited['store'] === entry['store']) return [];
    return [{
      path: ['routes', r, 'policies', i, 'store'],
      message: `this ${entry.type} adds to the gateway-wide one (store: ${String(inherited['store'])}) and is checked with it in one step, so it needs the same store (or set inheritPolicies: false)`,
    }];
  }));
}

/** A policy that keeps its state in Redis (`store: redis`) needs the `redis:` section: the error is at its `store`. */
function redisStoreIssues(config: { redis?: unknown; policies: readonly PolicyEntry[]; routes: ReadonlyArray<{ policies: readonly PolicyEntry[] }> }) {
  if (config.redis !== undefined) return [];
  const message = 'store: redis needs a top-level redis: section (redis: { url: redis://HOST:6379 }), or use store: memory';
  const usesRedis = (entry: PolicyEntry) => (entry as { store?: unknown }).store === 'redis';
  return [
    ...config.policies.flatMap((entry, i) => (usesRedis(entry) ? [{ path: ['policies', i, 'store'], message }] : [])),
    ...config.routes.flatMap((route, r) => route.policies.flatMap((entry, i) => (usesRedis(entry) ? [{ path: ['routes', r, 'policies', i, 'store'], message }] : []))),
  ];
}

interface IdentityChecked {
  readonly identity: z.output<typeof identitySchema>;
  readonly upstreams: Record<string, { hashOn?: HashOn | undefined }>;
  readonly policies: readonly PolicyEntry[];
  readonly routes: ReadonlyArray<{ match: { headers?: Record<string, string> | undefined }; policies: readonly PolicyEntry[] }>;
}

/**
 * Identity headers are removed from every client request before routing, so a route condition or a hash key
 * on one would never see a value: say so rather than silently matching nothing. And they are Gatehouse's to
 * set from the verified identity, so no policy may send one upstream (e.g. header-transform).
 */
function identityIssues(config: IdentityChecked) {
  const names = identityHeaders(config.identity).names;
  const isIdentity = (name: string) => isIdentityHeader(names, name.toLowerCase());
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const why = 'is an identity header: Gatehouse removes client copies before routing';
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const header = upstream.hashOn?.from === 'header' ? upstream.hashOn.name : undefined;
    if (header !== undefined && isIdentity(header)) issues.push({ path: ['upstreams', name, 'hashOn'], message: `"${header}" ${why}; hash on another header` });
  }
  config.routes.forEach((route, i) => {
    for (const header of Object.keys(route.match.headers ?? {})) {
      if (isIdentity(header)) issues.push({ path: ['routes', i, 'match', 'headers', header], message: `"${header}" ${why}; match on another header` });
    }
  });
  const policyHeaders = (entries: readonly PolicyEntry[], at: Array<string | number>) => entries.forEach((entry, i) => {
    const { type, ...settings } = entry;
    for (const use of policyDefinition(type)?.upstreamHeaders?.(settings) ?? []) {
      if (!isIdentity(use.name)) continue;
      issues.push({ path: [...at, i, ...use.path], message: `"${use.name}" is an identity header: Gatehouse sets it from the verified identity alone; choose another name` });
    }
  });
  policyHeaders(config.policies, ['policies']);
  config.routes.forEach((route, r) => policyHeaders(route.policies, ['routes', r, 'policies']));
  return issues;
}

/**
 * Cross-references between sections (duplicate route names, unknown upstreams, alert rules' routes, upstreams
 * and webhooks). Works on raw, unvalidated
 * input too, so the loader can report these alongside field errors (zod runs refinements only on valid data).
 */
export function referenceIssues(input: unknown): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const { routes, upstreams } = (input ?? {}) as { routes?: unknown; upstreams?: unknown };
  if (!Array.isArray(routes)) return issues;
  const known = upstreams && typeof upstreams === 'object' ? Object.keys(upstreams) : [];
  const names = new Map<string, number>();
  routes.forEach((route: unknown, i) => {
    const { name, upstream } = (route ?? {}) as { name?: unknown; upstream?: unknown };
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined) issues.push({ path: ['routes', i, 'name'], message: `duplicate route name "${name}" (first used by routes[${first}])` });
      else names.set(name, i);
    }
    if (typeof upstream === 'string' && !known.includes(upstream)) {
      issues.push({ path: ['routes', i, 'upstream'], message: `unknown upstream "${upstream}" (known: ${known.join(', ') || 'none defined'})` });
    }
  });
  issues.push(...alertReferenceIssues(input));
  return issues;
}

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
export type { BalancerName, HashOn, TargetConfig, UpstreamConfig };
