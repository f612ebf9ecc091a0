/**
 * One client request as the data plane tracks it, from arrival to the access log line. A plain object with
 * a fixed shape (cheap to create, one per request); units fill in what they learn.
 */
import type { Reason } from '../observability/reasons.ts';

export interface Exchange {
  /** performance.now() at arrival. */
  readonly start: number;
  /** Date.now() at arrival, the log line's time. */
  readonly time: number;
  readonly requestId: string;
  readonly traceId: string;
  readonly traceparent: string;
  readonly method: string;
  readonly host: string | undefined;
  readonly clientIp: string;
  /** The normalised path (no query), as matched. */
  path: string;
  route: string | undefined;
  upstream: string | undefined;
  target: string | undefined;
  status: number;
  reason: Reason | undefined;
  bytesIn: number;
  bytesOut: number;
  /** Time from dispatch to upstream response headers, ms. */
  upstreamMs: number | undefined;
  /** The upstream failure's error code, for the log only (never sent to the client). */
  upstreamError: string | undefined;
}

export function clientIpOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}
