/**
 * A local reply: an answer the gateway gives itself instead of (or before) contacting an upstream. Two kinds
 * are kept apart:
 *
 * - an *error reply* names a reason; its status comes from the reason catalogue, so a reason always means
 *   the same status everywhere (body, log, metric label). Its body is the standard JSON error, or none
 *   (`empty`, e.g. a CORS preflight's 204).
 * - a *content reply* (a cache hit, an idempotent replay, a composed or batch answer) has any status, no
 *   reason, its own body (bytes or a stream) and a `source` the access log records.
 *
 * Both go through the response phase and finish like an upstream's answer.
 */
import type { Readable } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';

export interface ErrorReply {
  readonly status: number;
  readonly reason: Reason;
  /** Extra response headers (e.g. WWW-Authenticate, Allow, CORS headers). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** true: no body (e.g. a CORS preflight's 204); otherwise the standard JSON error body. */
  readonly empty?: boolean | undefined;
  readonly source?: undefined;
  readonly headerList?: undefined;
}

export interface ContentReply {
  readonly status: number;
  /** What answered, e.g. "cache", "idempotency", "batch": logged as the line's `source`. */
  readonly source: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** More headers as a flat [name, value, ...] list (lower-case names), for names that repeat (a replayed Set-Cookie). */
  readonly headerList?: readonly string[] | undefined;
  /** The body: bytes (sent with a Content-Length), a stream (sent chunked), or none. */
  readonly body?: Buffer | string | Readable | undefined;
  readonly reason?: undefined;
}

export type LocalReply = ErrorReply | ContentReply;

export function reply(reason: Reason, headers?: Record<string, string>): ErrorReply {
  return { status: reasons[reason].status, reason, headers };
}

export function contentReply(source: string, status: number, body?: ContentReply['body'], headers?: Record<string, string>): ContentReply {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`a content reply's status must be 200-599, not ${status}`);
  return { status, source, body, headers };
}

export function isErrorReply(local: LocalReply): local is ErrorReply {
  return local.reason !== undefined;
}
