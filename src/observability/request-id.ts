/**
 * Request IDs and W3C trace context. A client's X-Request-ID is kept when it is sane (1-128 characters of
 * a conservative set, so it is safe in logs and headers); otherwise a UUID is generated. A valid incoming
 * `traceparent` keeps its trace ID and gets a new parent span ID (ours); an invalid or missing one starts a
 * new trace. Sampled flags pass through unchanged.
 */
import { randomUUID } from 'node:crypto';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export function requestIdFrom(header: string | string[] | undefined): string {
  if (typeof header === 'string' && SANE_REQUEST_ID.test(header)) return header;
  return randomUUID();
}

export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
}

function newSpanId(): string {
  // randomUUID draws from a cached entropy pool: ~10x cheaper than randomBytes for short IDs.
  const uuid = randomUUID();
  return uuid.slice(19, 23) + uuid.slice(24);
}

export function traceFrom(header: string | string[] | undefined): TraceContext {
  const spanId = newSpanId();
  if (typeof header === 'string') {
    const m = TRACEPARENT.exec(header);
    // Version ff is forbidden; version 00 allows no trailing fields; all-zero IDs are invalid.
    if (m && m[1] !== 'ff' && !(m[1] === '00' && m[5] !== undefined) && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN) {
      return { traceId: m[2]!, spanId, traceparent: `00-${m[2]}-${spanId}-${m[4]}` };
    }
  }
  const traceId = randomUUID().replaceAll('-', '');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}
