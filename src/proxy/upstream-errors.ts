/**
 * The one table from upstream failures to reasons. undici and Node report failures as error codes; the
 * phase matters too (a reset before the response head is a 502, after it the body broke off).
 */
import type { Reason } from '../observability/reasons.ts';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

export type UpstreamPhase = 'connect' | 'request' | 'response-body';

export function reasonForUpstreamError(error: unknown, phase: UpstreamPhase): Reason {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'upstream_connect_timeout';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'upstream_response_timeout';
    if (code === 'UND_ERR_BODY_TIMEOUT') return 'upstream_body_timeout';
    if (CONNECT_FAILURES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'upstream_connect_failure';
    if (code.startsWith('HPE_') || code === 'UND_ERR_INFO') return phase === 'response-body' ? 'upstream_body_error' : 'upstream_bad_response';
  }
  if (phase === 'response-body') return 'upstream_body_error';
  return phase === 'connect' ? 'upstream_connect_failure' : 'upstream_reset';
}
