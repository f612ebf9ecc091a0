/**
 * Writes docs/configuration.md from the config schema (src/config/schema.ts): every key with its path, type,
 * default and description, one section per top-level key. The error examples are produced by running the real
 * loader on a broken config, so they cannot drift either. `--check` exits 1 when the file differs from what
 * would be generated; `--out FILE` writes or checks another file.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatProblem, loadConfigText } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { MAX_TIMER_MS } from '../src/fields/units.ts';
import { tableCell as cell, writeOrCheck } from './generated-doc.ts';

export const configDocPath = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** Uses every key, so readers see each one in place (a test keeps it valid and complete). */
export const completeExample = `listen:
  host: 0.0.0.0
  port: 8443
  tls:                                  # HTTPS, with HTTP/2 alongside HTTP/1.1
    cert: tls/default.pem               # files must exist when the config is loaded; edits reload by themselves
    key: tls/default.key
    certificates:                       # chosen by the server name the client asks for (SNI)
      - hosts: [api.example.com, "*.api.example.com"]
        cert: tls/api.pem
        key: tls/api.key
    minVersion: TLSv1.2
    http2: true
    hsts:
      maxAge: 365d
      includeSubDomains: true
      preload: false
    redirectHttp:                       # plain HTTP on :8080 answers 308 to https://HOST:443/...
      host: 0.0.0.0
      port: 8080
      httpsPort: 443
admin:
  enabled: true
  host: 127.0.0.1
  port: 9901
  token: \${GATEHOUSE_ADMIN_TOKEN:-replace-with-openssl-rand-hex-32}
metrics:
  enabled: true                         # GET /metrics on the admin listener (docs/metrics.md)
liveStats:
  enabled: true                         # rolling windows for the dashboard and alert rules (docs/alerts.md)
workers: auto
server:
  maxUrlLength: 8KiB
  maxHeaderSize: 16KiB
  headersTimeout: 10s
  requestTimeout: 0s
  keepAliveTimeout: 5s
  drainTimeout: 30s
  maxConnections: 10000
  trustedProxies: [10.0.0.0/8]          # your load balancers: their X-Forwarded-For is believed
log:
  level: info
  access:
    enabled: true
    path: stdout
identity:                               # headers Gatehouse sets after auth; client copies always removed
  consumerHeader: x-consumer-id
  subjectHeader: x-user-id
  scopesHeader: x-user-scopes
  claimHeaders: { x-tenant-id: tenant }
  stripHeaders: [x-internal-role]
policies:                               # every route; see docs/policies.md
  - type: cors
    origins: [https://app.example.com]
    credentials: true

upstreams:
  users:
    balancer: least-connections
    targets:
      - url: http://10.0.0.5:7001
      - url: http://10.0.0.6:7001
        maxConnections: 64
    timeouts:
      connect: 2s
      response: 10s
      bodyIdle: 60s
    keepAlive: 4s
    maxConnections: 128
    healthCheck:                      # active checks; off unless set
      path: /health
      interval: 5s
      timeout: 1s
      healthyAfter: 2                 # consecutive passes to come back
      unhealthyAfter: 3               # consecutive failures to leave
      expectStatus: [200]
    circuitBreaker:                   # passive; on with these defaults unless \`circuitBreaker: false\`
      consecutiveFailures: 5
      failureRatio: 0.5               # or: this share failing ...
      minRequests: 20                 # ... over at least this many requests ...
      window: 10s                     # ... in this window
      openFor: 30s                    # then half-open
      halfOpenRequests: 3             # probes let through while half-open; all succeed -> closed
      failOn: [connect-failure, timeout, reset]
      maxEjectedPercent: 50           # never eject more than this share of the upstream's targets
  carts:
    balancer: consistent-hash
    hashOn: header:x-cart-id          # the same cart always reaches the same target
    targets:
      - { url: https://carts-a.internal:8443, weight: 2 }
      - { url: https://carts-b.internal:8443, weight: 1 }
    tls:
      ca: /etc/ssl/certs/ca-certificates.crt   # must exist when the config is loaded
      servername: carts.internal
      rejectUnauthorized: true
    circuitBreaker: false             # no passive ejection for this upstream

routes:
  - name: users-v2
    match:
      host: api.example.com
      path: /users
      methods: [GET, POST]
      headers: { x-api-version: "2" }
    upstream: users
    stripPrefix: true
  - name: users
    match: { host: api.example.com, path: /users }
    upstream: users
    timeout: 15s
    retry:                              # see docs/traffic-control.md#retries
      attempts: 3                       # total, including the first
      on: [connect-failure, reset, timeout, 502, 503, 504]
      methods: [GET, HEAD, OPTIONS, PUT, DELETE]   # POST/PATCH otherwise only on connect-failure
      backoff: { base: 25ms, max: 1s }
      perTryTimeout: 2s
      budget: { ratio: 0.2, minPerSecond: 10, window: 10s }
      replayBody: 64KiB
    policies:                           # this route only; a type also listed at the top replaces that one
      - type: api-key-auth
        consumers: [{ id: shop, keys: ["sha256:d51180b754172de56420d83d632bce25aa2a403654cdf6e0cae47722c6e48721"] }]
  - name: cart
    match: { path: /carts/:id, exact: true }
    upstream: carts
    preserveHost: false
    idleTimeout: 30s
    upgradeIdleTimeout: 10m
    inheritPolicies: false              # no gateway-wide policies on this route
    policies: []

redis:                                  # shared by every instance: exact rate limits, idempotency keys
  url: redis://10.0.0.9:6379
  commandTimeout: 50ms                  # no answer by then: the feature falls back as configured
  keyPrefix: "gatehouse:"

tracing:                                # OpenTelemetry spans, off by default; see docs/tracing.md
  enabled: true
  endpoint: http://127.0.0.1:4318/v1/traces   # OTLP/HTTP
  sampleRatio: 0.1                      # parent-based: a sampled traceparent is always kept
  serviceName: gatehouse

alerts:                                 # see docs/alerts.md
  webhooks:
    - name: ops
      url: https://hooks.example.com/T000/B000/XXXX   # receives JSON; Slack-compatible \`text\` included
      timeout: 2s
  rules:
    - name: users-slow
      signal: p95                       # rps | p50 | p95 | p99 | error-ratio | 5xx-ratio | rate-limited-ratio | available-targets
      route: users                      # or upstream: NAME; neither = all traffic
      above: 500ms                      # or below: a duration for latency, a ratio (0.05 or "5%") or a count otherwise
      window: 1m
      for: 30s
      keepFiringFor: 0s
      minRequests: 20
      severity: warning
      description: Users API is slow
      notify: [ops]
    - name: carts-down
      signal: available-targets
      upstream: carts
      below: 1
      severity: critical
`;

/** A config with one mistake of each common kind; its problems are shown as the error examples. */
const brokenExample = `listen:
  port: eighty
upstreams:
  users:
    balancer: round-robbin
    targets:
      - url: localhost:7001
routes:
  - name: users
    match: { path: /users, method: [GET] }
    upstream: users
    timeout: 5 seconds
`;

interface Row { path: string; type: string; default: string; description: string; container: boolean }

interface Unwrapped { schema: z.ZodType; optional: boolean; hasDefault: boolean; defaultValue: unknown; description: string | undefined }

/** Peels optional/default/prefault wrappers, keeping what they say about the key. */
function unwrap(schema: z.ZodType): Unwrapped {
  const out: Unwrapped = { schema, optional: false, hasDefault: false, defaultValue: undefined, description: undefined };
  for (let depth = 0; depth < 16; depth++) {
    out.description ??= out.schema.description;
    const s = out.schema;
    if (s instanceof z.ZodOptional) {
      out.optional = true;
      out.schema = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) {
      if (!out.hasDefault) [out.hasDefault, out.defaultValue] = [true, s.def.defaultValue];
      out.schema = s.unwrap() as z.ZodType;
    } else break;
  }
  return out;
}

function typeOf(schema: z.ZodType): string {
  const s = unwrap(schema).schema;
  if (s instanceof z.ZodPipe) {
    // duration() and size() are both string|number transforms; what they accept tells them apart.
    if (s.safeParse('1s').data === 1000) return 'duration';
    if (s.safeParse('1KiB').data === 1024) return 'size';
    return typeOf(s.in as z.ZodType);
  }
  if (s instanceof z.ZodURL) return 'URL';
  if (s instanceof z.ZodString) return 'string';
  if (s instanceof z.ZodBoolean) return 'boolean';
  if (s instanceof z.ZodNumber) return numberType(s);
  if (s instanceof z.ZodEnum) return `one of ${s.options.map((o) => `\`${String(o)}\``).join(', ')}`;
  if (s instanceof z.ZodLiteral) return [...s.values].map((v) => `\`${JSON.stringify(v)}\``).join(' or ');
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).map(typeOf).join(' or ');
  if (s instanceof z.ZodArray) return `list of ${typeOf(s.element as z.ZodType).replace(/^mapping$/, 'mappings')}`;
  if (s instanceof z.ZodRecord) return `mapping of name → ${typeOf(s.valueType as z.ZodType)}`;
  if (s instanceof z.ZodObject) return 'mapping';
  return 'any';
}

function numberType(s: z.ZodNumber): string {
  const name = s.isInt ? 'integer' : 'number';
  const min = s.minValue !== null && s.minValue > Number.MIN_SAFE_INTEGER ? s.minValue : undefined;
  const max = s.maxValue !== null && s.maxValue < Number.MAX_SAFE_INTEGER ? s.maxValue : undefined;
  if (min !== undefined && max !== undefined) return `${name} ${min}–${max}`;
  if (min !== undefined) return `${name} ≥ ${min}`;
  return max !== undefined ? `${name} ≤ ${max}` : name;
}

function defaultOf(u: Unwrapped): string {
  if (u.hasDefault) {
    const v = u.defaultValue;
    // An empty mapping is "none" for a record (a map of names) and "all defaults" for an object of settings.
    if ((Array.isArray(v) || u.schema instanceof z.ZodRecord) && Object.keys(v as object).length === 0) return 'none';
    if (v !== null && typeof v === 'object' && Object.keys(v).length === 0) return 'all defaults';
    return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
  }
  return u.optional ? 'unset' : '**required**';
}

/** The schema a container's children live in: an object, or the object inside a list or a record. */
function childObject(schema: z.ZodType): { object: z.ZodObject; suffix: string } | undefined {
  const s = unwrap(schema).schema;
  if (s instanceof z.ZodObject) return { object: s, suffix: '' };
  // `false | {...}` (a unit that is on unless turned off): its keys are the mapping's.
  if (s instanceof z.ZodUnion) {
    const objects = (s.options as z.ZodType[]).map((o) => unwrap(o).schema).filter((o) => o instanceof z.ZodObject);
    if (objects.length === 1) return { object: objects[0] as z.ZodObject, suffix: '' };
  }
  const inner = s instanceof z.ZodArray ? { schema: s.element as z.ZodType, suffix: '[]' }
    : s instanceof z.ZodRecord ? { schema: s.valueType as z.ZodType, suffix: '.<name>' } : undefined;
  let object = inner && unwrap(inner.schema).schema;
  // A policy entry is its common part ({ type }) piped into the type's own schema (docs/policies.md).
  if (object instanceof z.ZodPipe) object = unwrap(object.in as z.ZodType).schema;
  return inner && object instanceof z.ZodObject ? { object, suffix: inner.suffix } : undefined;
}

/** Rows for `schema` at `path` and, for containers, for every key below it. */
export function rowsOf(schema: z.ZodType, path: string): Row[] {
  const u = unwrap(schema);
  const container = childObject(schema);
  const description = u.description ?? (container && unwrap(container.object).description) ?? '';
  const rows: Row[] = [{ path, type: typeOf(schema), default: defaultOf(u), description, container: container !== undefined }];
  if (!container) return rows;
  for (const [key, child] of Object.entries(container.object.shape)) rows.push(...rowsOf(child as z.ZodType, `${path}${container.suffix}.${key}`));
  return rows;
}

/** Every key path in the docs that holds a value rather than more keys. */
export function leafPaths(): string[] {
  return Object.entries(configSchema.shape).flatMap(([key, s]) => rowsOf(s as z.ZodType, key))
    .filter((row) => !row.container).map((row) => row.path);
}

function renderSection(key: string, schema: z.ZodType): string {
  const [self, ...children] = rowsOf(schema, key);
  const container = childObject(schema);
  const required = self!.default === '**required**' ? 'Required.' : 'Optional.';
  // A list's or a record's own description says what the collection is; the element's says what one item is.
  const about = container ? [...new Set([unwrap(schema).description, unwrap(container.object).description])] : [];
  const table = (container ? children : [self!])
    .map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
  return `## \`${key}${container?.suffix ?? ''}\`

${[...about, required].filter(Boolean).join(' ')}

| key | type | default | description |
|---|---|---|---|
${table.join('\n')}
`;
}

function errorExamples(): string {
  const result = loadConfigText(brokenExample, 'gatehouse.yaml', {});
  if (result.ok) throw new Error('the broken example config unexpectedly loaded');
  return result.problems.map(formatProblem).join('\n');
}

export function renderConfigDocs(): string {
  const sections = Object.entries(configSchema.shape).map(([key, s]) => renderSection(key, s as z.ZodType));
  return `# Configuration

Gatehouse reads one YAML file: \`gatehouse start -c gatehouse.yaml\`. Check a file without starting anything
with \`gatehouse validate -c gatehouse.yaml\`. While running, Gatehouse watches the file and reloads it when it
changes; a file with problems is rejected, the previous config keeps serving, and the problems are logged.

Only \`upstreams\` and \`routes\` are required; everything else has a default. Unknown keys are errors, never
silently ignored, so a typo cannot pass for a setting. A small annotated config to start from is
[examples/gatehouse.yaml](../examples/gatehouse.yaml).

This file is generated from \`src/config/schema.ts\` by \`node scripts/gen-config-docs.ts\`; a test fails
when they differ, so edit the schema's descriptions, not this file.

## Units

- **duration**: \`"250ms"\`, \`"30s"\`, \`"5m"\`, \`"1h"\` (fractions allowed: \`"1.5s"\`), or a number of
  milliseconds. At most ${MAX_TIMER_MS}ms (about 24 days), the longest a Node.js timer can wait.
- **size**: \`"512KiB"\`, \`"1MiB"\`, \`"1GiB"\` (powers of 1024), \`"1KB"\`, \`"1MB"\`, \`"1GB"\` (powers of 1000),
  \`"100b"\`, or a number of bytes.

## Environment variables

String values may refer to environment variables:

| write | gives |
|---|---|
| \`\${NAME}\` | the value of \`NAME\`; if it is not set, the file is rejected with a problem at that value |
| \`\${NAME:-default}\` | the value of \`NAME\`, or \`default\` when it is unset or empty |
| \`$\${\` | a literal \`\${\` |

Interpolation happens after the YAML is parsed and only in values, never in keys, so a variable's value is
always one plain value and cannot add keys. An unquoted value that becomes a number or \`true\`/\`false\` is
typed as one (\`port: \${PORT:-8080}\` is the number 8080); a quoted value stays a string. Inside a flow
mapping (\`{ ... }\`) YAML requires the quotes, so write numbers from variables in block style. A default
cannot contain \`}\`, and references do not nest.

## Errors

Gatehouse reports every problem in the file at once, each on one line:

\`\`\`
FILE:LINE:COL path.to.key: message
\`\`\`

\`LINE:COL\` points at the offending value (at the key itself for an unknown key, at the enclosing mapping for
a missing one). For example, this file:

\`\`\`yaml
${brokenExample}\`\`\`

gives:

\`\`\`
${errorExamples()}
\`\`\`

YAML syntax errors and duplicate keys come first: while the YAML does not parse, the keys are not checked.
Duplicate route names and routes naming an unknown upstream are reported together with every other problem;
\`hashOn\` without the \`consistent-hash\` balancer, and two routes that match exactly the same requests, are
reported once everything else is valid. \`gatehouse validate\` exits with 2 when there are problems.

## Complete example

Every key, most at their defaults:

\`\`\`yaml
${completeExample}\`\`\`

${sections.join('\n')}`;
}

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, out: { type: 'string' } } });
  const file = values.out ?? configDocPath;
  return writeOrCheck({ file, shownAs: file, script: 'scripts/gen-config-docs.ts' }, renderConfigDocs(), values.check === true);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
