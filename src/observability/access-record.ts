/**
 * What one access log line records about a finished request: the fields the data plane's Exchange carries
 * (pipeline/exchange.ts). Declared here, where it is written, so the log does not depend on the data plane.
 */
import type { Reason } from './reasons.ts';

export interface AccessRecord {
  /** performance.now() at arrival. */
  readonly start: number;
  /** performance.now() at finish: one clock read for the log line and every finish hook. */
  readonly end: number;
  readonly requestId: string;
  readonly traceId: string;
  readonly method: string;
  readonly host: string | undefined;
  readonly path: string;
  readonly route: string | undefined;
  readonly upstream: string | undefined;
  readonly target: string | undefined;
  readonly attempts: number;
  /** Set only when there was more than one attempt: each one's "target outcome". */
  readonly tries: readonly string[] | undefined;
  readonly status: number;
  readonly reason: Reason | undefined;
  /** What answered a content reply (a cache hit, a batch), when the gateway answered with content. */
  readonly source: string | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly upstreamMs: number | undefined;
  readonly clientIp: string;
  readonly consumer: string | undefined;
  readonly upstreamError: string | undefined;
}
