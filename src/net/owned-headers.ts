/**
 * The request headers Gatehouse owns: hop-by-hop ones (RFC 9110 §7.6.1), never forwarded, and those it sets
 * itself on the way upstream, whose client-sent copies are dropped. The config refuses these as identity
 * header names, and the proxy drops them, from this one list.
 */

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

/** Headers Gatehouse sets itself on the way upstream; incoming copies are dropped. */
// `expect` is answered by Gatehouse's own server (100-continue) and never forwarded.
export const GATEWAY_SET_HEADERS: ReadonlySet<string> = new Set(['expect', 'x-request-id', 'traceparent', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'forwarded', 'x-real-ip']);

/**
 * Every request header Gatehouse owns (lower-case): hop-by-hop ones and those it sets itself. The config
 * schema refuses these as identity header names, so this list is the only one to keep up to date.
 */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...GATEWAY_SET_HEADERS]);

/**
 * The request headers never passed upstream as the client sent them: the gateway-owned ones plus the identity
 * headers (`identityNames`, lower-case dash spelling). Built once per runtime, so each client header costs one
 * lookup.
 */
export function droppedRequestHeaders(identityNames: ReadonlySet<string>): ReadonlySet<string> {
  return new Set([...GATEWAY_OWNED_HEADERS, ...identityNames]);
}

/**
 * Response headers Gatehouse owns: hop-by-hop ones, Content-Length (the framing, set from the body) and
 * X-Request-ID. Policies may not set, append or remove them.
 */
export const GATEWAY_OWNED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length', 'x-request-id']);
