/**
 * Header rules for both directions. Hop-by-hop headers (RFC 9110 §7.6.1) and any header the sender names
 * in `Connection` are removed; the client's Connection list is applied before Gatehouse adds its own
 * headers, so a client cannot strip X-Forwarded-* or X-Request-ID by naming them. Client-sent copies of the
 * headers Gatehouse sets are replaced, never passed on.
 */
import type { Exchange } from '../pipeline/exchange.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { HOP_BY_HOP } from '../net/owned-headers.ts';
import { removeHeader } from '../pipeline/header-list.ts';
import { canonicalHeaderName } from '../pipeline/identity-headers.ts';

function connectionListed(value: string | undefined): Set<string> | undefined {
  if (!value || value === 'keep-alive' || value === 'close') return undefined;
  const names = value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'close' && s !== 'keep-alive');
  return names.length ? new Set(names) : undefined;
}

/**
 * Builds the flat [name, value, ...] header list sent upstream from the client's raw headers, the exchange's
 * forwarding facts and what the request's policies decided (headers removed, set or appended, the verified
 * identity's headers).
 * `overrideHost`: the Host to send instead of the client's; `traceparent`: the attempt's.
 */
export function upstreamRequestHeaders(ex: Exchange, edge: EdgeSettings, overrideHost: string | undefined, traceparent: string): string[] {
  const raw = ex.rawHeaders;
  const out: string[] = [];
  const dropped = edge.dropped;
  let connection: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // Looked up in dash spelling: CGI/WSGI servers read X_User_Id as X-User-Id and X_Forwarded_For as
    // X-Forwarded-For, so underscore spellings of the headers Gatehouse owns (identity ones included) go too.
    if (dropped.has(canonicalHeaderName(name))) {
      if (name === 'connection') connection = raw[i + 1];
      continue;
    }
    if (name === 'host' || name === ':authority') {
      host ??= raw[i + 1];
      continue;
    }
    // HTTP/2 pseudo-headers (:method, :path, :scheme) describe the client request, never forwarded.
    if (name.charCodeAt(0) === 58) continue;
    out.push(name, raw[i + 1]!);
  }
  // Rare: the client named end-to-end headers in Connection, or a policy removed some.
  const listed = connectionListed(connection);
  if (listed) removeListed(out, listed);
  const removed = ex.removedHeaders;
  if (removed) for (let i = 0; i < removed.length; i++) removeHeader(out, removed[i]!);
  // What policies set or appended follows the client's headers and precedes Gatehouse's own.
  const added = ex.addedHeaders;
  if (added) for (let i = 0; i < added.length; i++) out.push(added[i]!);
  out.push(
    'host', overrideHost ?? host ?? '',
    'x-request-id', ex.requestId,
    'traceparent', traceparent,
    'x-forwarded-for', ex.forwardedFor,
    'x-forwarded-proto', ex.forwardedProto,
    'via', viaFor(ex.httpVersion),
  );
  const forwardedHost = ex.forwardedHost ?? host;
  if (forwardedHost !== undefined) out.push('x-forwarded-host', forwardedHost);
  const identity = ex.identity;
  if (identity) {
    const extra = edge.identity.headersFor(identity);
    for (let i = 0; i < extra.length; i++) out.push(extra[i]!);
  }
  return out;
}

const VIA: Readonly<Record<string, string>> = { '1.1': '1.1 gatehouse', '2.0': '2.0 gatehouse', '1.0': '1.0 gatehouse' };
const viaFor = (httpVersion: string): string => VIA[httpVersion] ?? `${httpVersion} gatehouse`;

function removeListed(flat: string[], listed: ReadonlySet<string>): void {
  let w = 0;
  for (let r = 0; r < flat.length; r += 2) {
    if (listed.has(flat[r]!)) continue;
    flat[w++] = flat[r]!;
    flat[w++] = flat[r + 1]!;
  }
  flat.length = w;
}

/**
 * The response headers sent to the client, as a flat [name, value, ...] list: the upstream's headers (parsed,
 * lower-case keys) less hop-by-hop ones and those the upstream names in Connection, plus X-Request-ID.
 */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>, requestId: string): string[] {
  const connection = headers.connection;
  const listed = connectionListed(typeof connection === 'string' ? connection.toLowerCase() : undefined);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === 'x-request-id' || listed?.has(name)) continue;
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value) for (const v of value) out.push(name, v);
  }
  out.push('x-request-id', requestId);
  return out;
}
