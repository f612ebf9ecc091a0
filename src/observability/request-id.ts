/**
 * Request IDs and W3C trace context. A client's X-Request-ID is kept when it is sane (1-128 characters of
 * a conservative set, so it is safe in logs and headers); otherwise a UUID is generated. A valid incoming
 * `traceparent` keeps its trace ID and gets a new parent span ID (ours); an invalid or missing one starts a
 * new trace. Sampled flags pass through unchanged.
 */
import { randomFillSync, randomUUID } from 'node:crypto';

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

// Trace and span IDs are hex slices of one pooled random buffer, refilled 4 KiB at a time: one
// randomFillSync per ~170 requests instead of a crypto call per ID.
const entropy = Buffer.allocUnsafe(4096);
let entropyOffset = entropy.length;

function randomHex(bytes: number): string {
  if (entropyOffset + bytes > entropy.length) {
    randomFillSync(entropy);
    entropyOffset = 0;
  }
  return entropy.toString('hex', entropyOffset, entropyOffset += bytes);
}

function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

export function traceFrom(header: string | string[] | undefined): TraceContext {
  if (typeof header === 'string') {
    const m = TRACEPARENT.exec(header);
    // Version ff is forbidden; version 00 allows no trailing fields; all-zero IDs are invalid.
    if (m && m[1] !== 'ff' && !(m[1] === '00' && m[5] !== undefined) && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN) {
      const spanId = newSpanId();
      return { traceId: m[2]!, spanId, traceparent: `00-${m[2]}-${spanId}-${m[4]}` };
    }
  }
  // A new trace: trace and span ID from one slice of the pool.
  const ids = randomHex(24);
  const traceId = ids.slice(0, 32);
  const spanId = ids.slice(32);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return traceFrom(undefined);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}
