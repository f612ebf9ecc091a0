/**
 * The one outcome table: how an upstream attempt failed, and the reason the client and the log get for it.
 * undici and Node report failures as error codes, and the phase matters too (a reset before the response
 * head is `reset`, after it the body broke off). Timeouts the gateway enforces itself (deadlines) and
 * attempts the gateway or the client ended name their reason directly; see Attempt.
 */
import type { Reason } from '../observability/reasons.ts';
import type { AttemptOutcome } from '../upstream/target-state.ts';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Where the attempt was when it failed. */
export type AttemptPhase = 'connect' | 'request' | 'response-body';

/** The failures an attempt can report against its target, each with its reason. */
export const OUTCOME_REASONS = {
  connect_failure: 'upstream_connect_failure',
  connect_timeout: 'upstream_connect_timeout',
  response_timeout: 'upstream_response_timeout',
  reset: 'upstream_reset',
  bad_response: 'upstream_bad_response',
  body_error: 'upstream_body_error',
  body_timeout: 'upstream_body_timeout',
} as const satisfies Record<Exclude<AttemptOutcome, 'response' | 'cancelled'>, Reason>;

export type FailureOutcome = keyof typeof OUTCOME_REASONS;

/** The outcome of an attempt that failed with `error` in `phase`. */
export function outcomeOfError(error: unknown, phase: AttemptPhase): FailureOutcome {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === 'string') {
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect_timeout';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'response_timeout';
    if (code === 'UND_ERR_BODY_TIMEOUT') return 'body_timeout';
    if (CONNECT_FAILURES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'connect_failure';
    if (code.startsWith('HPE_') || code === 'UND_ERR_INFO') return phase === 'response-body' ? 'body_error' : 'bad_response';
  }
  // undici's HTTPParserError often has no code (it looks llhttp's numeric error up in a table keyed by name,
  // which yields undefined), so its name is what marks a response that is not HTTP.
  if (name === 'HTTPParserError') return phase === 'response-body' ? 'body_error' : 'bad_response';
  if (phase === 'response-body') return 'body_error';
  return phase === 'connect' ? 'connect_failure' : 'reset';
}

/** The reason for an attempt that failed with `error` in `phase`. */
export function reasonForUpstreamError(error: unknown, phase: AttemptPhase): Reason {
  return OUTCOME_REASONS[outcomeOfError(error, phase)];
}
