/**
 * The catalogue of reasons: every response Gatehouse makes itself, and every request outcome it logs, names
 * one of these. They are public identifiers (clients, log queries and metric labels depend on them): add new
 * ones, never rename. docs/reasons.md is checked against this table by a test.
 */
export interface ReasonInfo {
  readonly status: number;
  readonly message: string;
  /** What it means and what to do, for docs/reasons.md. */
  readonly doc: string;
  /**
   * An auth policy's refusal because its credential was absent. When every auth policy of a route refuses,
   * a refusal about a credential that was presented is the more useful answer (see pipeline/run.ts).
   */
  readonly credentialMissing?: true;
}

export const reasons = {
  bad_request: { status: 400, message: 'Bad Request', doc: 'The request could not be parsed as HTTP (malformed request line, header or chunked encoding, conflicting framing headers), or an HTTP/1.1 request has no Host or more than one.' },
  bad_path: { status: 400, message: 'Bad Request: unsafe path', doc: 'The path holds dot segments, an encoded slash or backslash, a NUL byte, double percent-encoding, escaped bytes that are not UTF-8, or is not in origin form. Such paths are refused rather than guessed at.' },
  idempotency_key_invalid: { status: 400, message: 'Bad Request: invalid Idempotency-Key', doc: 'The Idempotency-Key header is empty, longer than 255 characters, repeated, or holds characters other than visible ASCII (0x21-0x7E). Nothing is forwarded.' },
  token_missing: { status: 401, message: 'Unauthorized: a bearer token is required', doc: 'The route requires a JWT and none was found in the configured places (Authorization: Bearer, cookie, query parameter). WWW-Authenticate names the realm.', credentialMissing: true },
  token_invalid: { status: 401, message: 'Unauthorized: invalid token', doc: 'The JWT is malformed, its signature or algorithm is not accepted, its kid is unknown, or a claim check (iss, aud, nbf, required claims) failed. The log line says which check; the client is not told.' },
  token_expired: { status: 401, message: 'Unauthorized: token expired', doc: 'The JWT\'s exp is in the past (beyond the configured leeway).' },
  api_key_missing: { status: 401, message: 'Unauthorized: an API key is required', doc: 'The route requires an API key and none was found in the configured header or query parameter.', credentialMissing: true },
  api_key_invalid: { status: 401, message: 'Unauthorized: invalid API key', doc: 'The API key presented matches no consumer.' },
  insufficient_scope: { status: 403, message: 'Forbidden: insufficient scope', doc: 'The token is valid but lacks a scope the route requires (scope or scp claim).' },
  ip_denied: { status: 403, message: 'Forbidden', doc: 'The client IP (after trusted-proxy resolution) is on the route\'s deny list or not on its allow list.' },
  cors_origin_not_allowed: { status: 403, message: 'Forbidden: origin not allowed', doc: 'A CORS preflight came from an origin, or asked for a method or header, that the route\'s cors policy does not allow.' },
  cors_preflight: { status: 204, message: 'No Content', doc: 'Not an error: a CORS preflight answered by the gateway (it never reaches the upstream).' },
  https_redirect: { status: 308, message: 'Permanent Redirect', doc: 'Not an error: the HTTP redirect listener sent the client to the HTTPS URL.' },
  route_not_found: { status: 404, message: 'Not Found', doc: 'No route matches the request\'s host, path and headers.' },
  method_not_allowed: { status: 405, message: 'Method Not Allowed', doc: 'A route matches the path but not the method; the Allow header lists the methods that would match.' },
  idempotency_in_progress: { status: 409, message: 'Conflict: a request with this Idempotency-Key is in progress', doc: 'The idempotency policy: an earlier request with the same key (same identity, method and route) has not been answered yet. Retry later; the repeat then gets the stored answer.' },
  request_timeout: { status: 408, message: 'Request Timeout', doc: 'The client did not send the complete request head (server.headersTimeout) or request (server.requestTimeout) in time.' },
  client_body_timeout: { status: 408, message: 'Request Timeout', doc: 'The client stopped sending the request body for longer than the route\'s idleTimeout before the upstream answered.' },
  request_body_too_large: { status: 413, message: 'Content Too Large', doc: 'The request body is larger than the route\'s request-size-limit: refused before the upstream is contacted when declared, or the upstream attempt is aborted when a streamed body crosses the limit.' },
  idempotency_body_too_large: { status: 413, message: 'Content Too Large: body too large for an Idempotency-Key request', doc: 'The idempotency policy reads the body of a request with Idempotency-Key whole, to hash it before the upstream sees it; bodies larger than the policy\'s maxBody are refused. Send larger requests without the key, or raise maxBody.' },
  uri_too_long: { status: 414, message: 'URI Too Long', doc: 'The request target is longer than server.maxUrlLength.' },
  expectation_failed: { status: 417, message: 'Expectation Failed', doc: 'The request has an Expect header other than 100-continue, which Gatehouse cannot meet.' },
  unsupported_media_type: { status: 415, message: 'Unsupported Media Type', doc: 'The request body\'s Content-Type is not on the route\'s content-type allow-list.' },
  idempotency_key_mismatch: { status: 422, message: 'Unprocessable Content: Idempotency-Key reused with a different body', doc: 'The idempotency policy: the key was used before (same identity, method and route) with a request body whose hash differs. Use a new key for a new request.' },
  rate_limited: { status: 429, message: 'Too Many Requests', doc: 'A rate-limit policy refused the request: one of its limits has no token left. Retry-After says how many seconds to wait; RateLimit-Policy and RateLimit name the limit. A refused request consumes nothing from the route\'s other limits.' },
  headers_too_large: { status: 431, message: 'Request Header Fields Too Large', doc: 'The request head is larger than server.maxHeaderSize.' },
  client_aborted: { status: 499, message: 'Client Closed Request', doc: 'Logged only: the client went away before the response was complete; the upstream request was aborted.' },
  internal_error: { status: 500, message: 'Internal Server Error', doc: 'A bug in Gatehouse. The log line with the same requestId has the details; please report it.' },
  policy_error: { status: 500, message: 'Internal Server Error', doc: 'A policy failed unexpectedly (a bug in Gatehouse). The process log has the details under the same requestId; please report it.' },
  upstream_connect_failure: { status: 502, message: 'Bad Gateway', doc: 'The target refused the connection or could not be reached (connection refused, host unreachable, TLS handshake failed).' },
  upstream_reset: { status: 502, message: 'Bad Gateway', doc: 'The target closed the connection before sending a complete response head.' },
  upstream_bad_response: { status: 502, message: 'Bad Gateway', doc: 'The target sent something that is not valid HTTP.' },
  upstream_body_error: { status: 502, message: 'Bad Gateway', doc: 'Logged only (the response had started): the target\'s response body broke off mid-stream; the client connection is closed so the truncation is visible.' },
  upgrade_failed: { status: 502, message: 'Bad Gateway', doc: 'The target closed the connection during a protocol upgrade (WebSocket) handshake, before answering. A target that answers the upgrade request with a normal response (e.g. 200, 401, 404) instead of 101 has that answer relayed as it is and logged with its own status and no reason.' },
  no_healthy_upstream: { status: 503, message: 'Service Unavailable', doc: 'The route\'s upstream has no target available to take the request (active health checks have them down, or the operator switched them off).' },
  upstream_circuit_open: { status: 503, message: 'Service Unavailable', doc: 'Every target of the route\'s upstream has its circuit breaker open (or half-open with all its probes in flight): no request is sent until one is re-admitted.' },
  auth_keys_unavailable: { status: 503, message: 'Service Unavailable: authentication keys unavailable', doc: 'A token was presented but the keys to verify it have never loaded (the JWKS endpoint has been unreachable since start). Not a 401: the client\'s token may be fine.' },
  rate_limit_unavailable: { status: 503, message: 'Service Unavailable: rate limit store unavailable', doc: 'A rate-limit policy with store: redis and onStoreError: fail-closed could not reach Redis (down, timed out or a script error) and refuses rather than admit uncounted. Redis is used again as soon as it answers.' },
  shutting_down: { status: 503, message: 'Service Unavailable', doc: 'The gateway is draining for shutdown and takes no new upgraded connections.' },
  idempotency_unavailable: { status: 503, message: 'Service Unavailable: idempotency store unreachable', doc: 'The idempotency policy could not reach its store (Redis down or slower than redis.commandTimeout) for a request with Idempotency-Key. Refused rather than forwarded unprotected: the same key must never run twice. Requests without the key are unaffected.' },
  upstream_connect_timeout: { status: 504, message: 'Gateway Timeout', doc: 'No connection to the target was established within upstream timeouts.connect (or the route\'s retry.perTryTimeout, when shorter).' },
  upstream_response_timeout: { status: 504, message: 'Gateway Timeout', doc: 'The target did not send response headers within upstream timeouts.response after receiving the request (or the route\'s retry.perTryTimeout, when shorter).' },
  route_timeout: { status: 504, message: 'Gateway Timeout', doc: 'The route\'s timeout passed between the request\'s arrival and the response headers.' },
  upstream_body_timeout: { status: 504, message: 'Gateway Timeout', doc: 'The target\'s response body went silent for longer than the idle timeout. Logged with 504 when headers were already sent (the client connection is then closed).' },
  admin_unauthorized: { status: 401, message: 'Unauthorized: the admin token is required', doc: 'Admin API: the request carried no valid admin token (Authorization: Bearer <admin.token>) and no valid session cookie from POST /session. /live, /ready, /metrics, /openapi.json and /docs need none.' },
  admin_csrf_failed: { status: 403, message: 'Forbidden: CSRF check failed', doc: 'Admin API: a change (POST /reload, POST /config) authenticated by the session cookie lacked the X-CSRF-Token header POST /session returned, or came from another site (Origin / Sec-Fetch-Site). Send the bearer header instead, or the session\'s CSRF token.' },
  admin_host_not_allowed: { status: 403, message: 'Forbidden: admin host not allowed', doc: 'Admin API without admin.token: the Host header is not a loopback name (localhost, 127.x.x.x, [::1]), as with a DNS-rebinding page in a browser. Set admin.token to reach the admin API under another name.' },
  admin_bad_request: { status: 400, message: 'Bad Request', doc: 'Admin API: a required query parameter is missing or malformed (GET /explain needs path; header=name:value).' },
  admin_body_too_large: { status: 413, message: 'Content Too Large', doc: 'Admin API: the POST /config body is larger than 1 MiB.' },
  admin_config_invalid: { status: 422, message: 'Unprocessable Content: invalid config', doc: 'Admin API: the config sent to POST /config, or the file POST /reload read, has problems (listed in the body\'s problems as "line:col path: message"). The running config keeps serving.' },
  admin_reload_failed: { status: 500, message: 'Internal Server Error: config not applied', doc: 'Admin API: a valid config could not be built or applied in every worker; the running config keeps serving and the process log says why.' },
  http_version_not_supported: { status: 505, message: 'HTTP Version Not Supported', doc: 'The request is not HTTP/1.0, HTTP/1.1 or HTTP/2 (for example an HTTP/0.9 request line without a version). Nothing is forwarded.' },
} as const satisfies Record<string, ReasonInfo>;

export type Reason = keyof typeof reasons;
