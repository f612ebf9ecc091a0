/**
 * Spans from a finished request: one server span for the request and one client span per upstream attempt,
 * made once, at finish, from the Exchange's fields and what each attempt recorded (pipeline/trace-record.ts),
 * as the SDK's ReadableSpan objects the batch processor and the OTLP exporter take. No Tracer and no live
 * Span objects: the IDs are the ones the gateway already forwarded and logged, and a span built whole at the
 * end costs one object, not a Span with its setters, clock reads and processor calls along the way.
 *
 * Attributes follow the OpenTelemetry semantic conventions for HTTP (stable, v1.2x); Gatehouse's own facts
 * (route name, upstream, target, reason, request ID) are `gatehouse.*`. Query strings are left out of
 * url.* attributes: they may carry keys, and a collector is no place for them.
 *
 * Only types are imported from OpenTelemetry, so this file loads nothing of the SDK.
 */
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Exchange } from '../pipeline/exchange.ts';
import type { AttemptSpan, TraceRecord } from '../pipeline/trace-record.ts';

// SpanKind and SpanStatusCode values (the enums live in @opentelemetry/api, which this file does not load).
const KIND_SERVER = 1;
const KIND_CLIENT = 2;
const STATUS_UNSET = { code: 0 } as const;
const STATUS_ERROR = { code: 2 } as const;
const TRACE_FLAGS_SAMPLED = 1;

/** What is the same for every span of one exporter. */
export interface SpanScope {
  readonly resource: Resource;
  readonly scope: ReadableSpan['instrumentationScope'];
}

/** A finished request, as tracing receives it: its exchange, its record, its end time, its route's path template. */
export interface FinishedTrace {
  readonly ex: Exchange;
  readonly record: TraceRecord<Exchange>;
  /** performance.now() at finish. */
  readonly end: number;
  readonly httpRoute: string | undefined;
}

// Epoch ms = performance.now() + offset; the offset is read again once a second so a clock step shows up.
let syncedAt = -Infinity;
let offset = 0;

function epochOffset(now: number): number {
  if (now - syncedAt > 1000) {
    syncedAt = performance.now();
    offset = Date.now() - syncedAt;
  }
  return offset;
}

/** performance.now()-based milliseconds as an HrTime of the epoch. */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

function hrDuration(ms: number): HrTime {
  return hrTime(ms < 0 ? 0 : ms);
}

/** The request's spans: the server span first, then one client span per attempt. */
export function spansOf(done: FinishedTrace, at: SpanScope): ReadableSpan[] {
  const { ex, record } = done;
  const shift = epochOffset(done.end);
  const traceId = ex.traceId;
  const serverContext: SpanContext = { traceId, spanId: record.spanId, traceFlags: TRACE_FLAGS_SAMPLED };
  const spans: ReadableSpan[] = [serverSpan(done, serverContext, shift, at)];
  const attempts = record.attempts;
  for (let i = 0; i < attempts.length; i++) spans.push(clientSpan(ex, attempts[i]!, i, serverContext, done.end, shift, at));
  return spans;
}

function serverSpan(done: FinishedTrace, context: SpanContext, shift: number, at: SpanScope): ReadableSpan {
  const { ex, record, httpRoute } = done;
  const attributes: Attributes = {
    'http.request.method': ex.method,
    'url.path': ex.path,
    'url.scheme': ex.forwardedProto,
    'client.address': ex.clientIp,
    'network.protocol.version': ex.httpVersion === '2.0' ? '2' : ex.httpVersion,
    'gatehouse.request_id': ex.requestId,
    'gatehouse.attempts': ex.attempts,
  };
  if (ex.status > 0) attributes['http.response.status_code'] = ex.status;
  if (httpRoute !== undefined) attributes['http.route'] = httpRoute;
  const host = ex.host;
  if (host !== undefined) addServer(attributes, host, ex.forwardedProto === 'https' ? 443 : 80);
  const agent = ex.headers['user-agent'];
  if (agent !== undefined) attributes['user_agent.original'] = agent;
  addGatehouse(attributes, ex, ex.target);
  if (ex.reason !== undefined) attributes['gatehouse.reason'] = ex.reason;
  if (ex.source !== undefined) attributes['gatehouse.source'] = ex.source;
  const failed = ex.status >= 500;
  if (failed) attributes['error.type'] = ex.reason ?? String(ex.status);
  const parent = record.parentId;
  return span(
    httpRoute === undefined ? ex.method : `${ex.method} ${httpRoute}`, KIND_SERVER, context,
    parent === undefined ? undefined : { traceId: context.traceId, spanId: parent, traceFlags: TRACE_FLAGS_SAMPLED, isRemote: !record.localParent },
    ex.start + shift, done.end + shift, attributes, failed, at,
  );
}

function clientSpan(ex: Exchange, attempt: AttemptSpan, index: number, parent: SpanContext, finishedAt: number, shift: number, at: SpanScope): ReadableSpan {
  const secure = attempt.target.startsWith('https:');
  const q = attempt.path.indexOf('?');
  const attributes: Attributes = {
    'http.request.method': ex.method,
    'url.full': `${secure ? 'https' : 'http'}://${attempt.host}${q === -1 ? attempt.path : attempt.path.slice(0, q)}`,
  };
  addServer(attributes, attempt.host, secure ? 443 : 80);
  if (index > 0) attributes['http.request.resend_count'] = index;
  const status = attempt.status;
  if (status !== undefined) attributes['http.response.status_code'] = status;
  addGatehouse(attributes, ex, attempt.target);
  const reason = attempt.reason;
  if (reason !== undefined) attributes['gatehouse.reason'] = reason;
  if (attempt.errorCode !== undefined) attributes['gatehouse.error_code'] = attempt.errorCode;
  const failed = reason !== undefined || (status !== undefined && status >= 400);
  if (failed) attributes['error.type'] = reason ?? String(status);
  const context: SpanContext = { traceId: parent.traceId, spanId: attempt.spanId, traceFlags: TRACE_FLAGS_SAMPLED };
  // An attempt still running at finish (the client left during it) ends with the request.
  const end = attempt.end === 0 ? finishedAt : attempt.end;
  return span(ex.method, KIND_CLIENT, context, parent, attempt.start + shift, end + shift, attributes, failed, at);
}

function addServer(attributes: Attributes, host: string, defaultPort: number): void {
  const colon = host.lastIndexOf(':');
  // "[::1]" has colons but no port: a port follows the last colon only when it is after the "]".
  if (colon === -1 || colon < host.lastIndexOf(']')) {
    attributes['server.address'] = host;
    attributes['server.port'] = defaultPort;
    return;
  }
  attributes['server.address'] = host.slice(0, colon);
  const port = Number(host.slice(colon + 1));
  attributes['server.port'] = Number.isInteger(port) ? port : defaultPort;
}

function addGatehouse(attributes: Attributes, ex: Exchange, target: string | undefined): void {
  if (ex.route !== undefined) attributes['gatehouse.route'] = ex.route;
  if (ex.upstream !== undefined) attributes['gatehouse.upstream'] = ex.upstream;
  if (target !== undefined) attributes['gatehouse.target'] = target;
}

function span(
  name: string, kind: number, context: SpanContext, parentSpanContext: SpanContext | undefined, startMs: number, endMs: number,
  attributes: Attributes, failed: boolean, at: SpanScope,
): ReadableSpan {
  const spanContext = (): SpanContext => context;
  const built = {
    name, kind, spanContext, startTime: hrTime(startMs), endTime: hrTime(endMs), duration: hrDuration(endMs - startMs),
    status: failed ? STATUS_ERROR : STATUS_UNSET, attributes, links: [], events: [], ended: true,
    resource: at.resource, instrumentationScope: at.scope, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
  return parentSpanContext === undefined ? built : { ...built, parentSpanContext };
}
