/**
 * One client request as the data plane tracks it, from arrival to the access log line. A plain object with
 * a fixed shape (cheap to create, one per request); units fill in what they learn.
 */
import type { Reason } from '../observability/reasons.ts';
import { peerAddress } from './client-ip.ts';

export interface Exchange {
  /** performance.now() at arrival (the log line's wall-clock time is derived from it: wall-clock.ts). */
  readonly start: number;
  readonly requestId: string;
  readonly traceId: string;
  readonly traceparent: string;
  readonly method: string;
  readonly host: string | undefined;
  /** The client IP: the socket peer, or the first untrusted X-Forwarded-For hop when the peer is a trusted proxy. */
  readonly clientIp: string;
  /** X-Forwarded-For to send upstream. */
  readonly forwardedFor: string;
  /** X-Forwarded-Proto to send upstream. */
  readonly forwardedProto: string;
  /** X-Forwarded-Host from a trusted proxy, else undefined (the client's Host is sent). */
  readonly forwardedHost: string | undefined;
  /** Who the request is after authentication (consumer ID, else token subject). */
  consumer: string | undefined;
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

/** An exchange for a connection-level failure (a parse error before any request existed). */
export function connectionExchange(requestId: string, remoteAddress: string | undefined, status: number, reason: Reason, error: string | undefined): Exchange {
  const peer = peerAddress(remoteAddress);
  return {
    start: performance.now(), requestId, traceId: '', traceparent: '', method: '', host: undefined,
    clientIp: peer, forwardedFor: peer, forwardedProto: 'http', forwardedHost: undefined, consumer: undefined, path: '', route: undefined,
    upstream: undefined, target: undefined, status, reason, bytesIn: 0, bytesOut: 0, upstreamMs: undefined, upstreamError: error,
  };
}

