/**
 * Header rules for both directions. Hop-by-hop headers (RFC 9110 §7.6.1) and any header the sender names
 * in `Connection` are removed; the client's Connection list is applied before Gatehouse adds its own
 * headers, so a client cannot strip X-Forwarded-* or X-Request-ID by naming them. Client-sent copies of the
 * headers Gatehouse sets are replaced, never passed on.
 */
import type { IncomingMessage } from 'node:http';
import type { PolicyContext } from '../pipeline/context.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import type { Exchange } from '../server/exchange.ts';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

/** Headers Gatehouse sets itself on the way upstream; incoming copies are dropped. */
// `expect` is answered by Gatehouse's own server (100-continue) and never forwarded.
const GATEWAY_SET = new Set(['expect', 'x-request-id', 'traceparent', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'forwarded', 'x-real-ip']);

function isGatewayOwned(name: string, identityNames: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || GATEWAY_SET.has(name) || identityNames.has(name) || name === 'host';
}

function connectionListed(value: string | undefined): Set<string> | undefined {
  if (!value || value === 'keep-alive' || value === 'close') return undefined;
  const names = value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'close' && s !== 'keep-alive');
  return names.length ? new Set(names) : undefined;
}

export interface ForwardedInfo {
  readonly requestId: string;
  readonly traceparent: string;
  /** X-Forwarded-For to send: the client IP, or a trusted proxy's chain with the peer appended. */
  readonly forwardedFor: string;
  /** X-Forwarded-Proto to send. */
  readonly proto: string;
  /** X-Forwarded-Host to send; undefined: the client's Host. */
  readonly forwardedHost: string | undefined;
  /** Host to send upstream, or undefined to let the client's Host through. */
  readonly overrideHost: string | undefined;
  /** Identity header names: client copies are dropped in every spelling. */
  readonly identityNames: ReadonlySet<string>;
  /** Headers a policy removed (lower-case), e.g. Authorization after JWT verification. */
  readonly removed: ReadonlySet<string> | undefined;
  /** Headers to add (the verified identity's headers), flat [name, value, ...]. */
  readonly extra: readonly string[] | undefined;
}

/** The forwarding facts for one request: the exchange's, plus what its policies decided. */
export function forwardedInfo(ex: Exchange, edge: EdgeSettings, overrideHost: string | undefined, policy: PolicyContext | undefined): ForwardedInfo {
  const identity = policy?.identity;
  return {
    requestId: ex.requestId,
    traceparent: ex.traceparent,
    forwardedFor: ex.forwardedFor,
    proto: ex.forwardedProto,
    forwardedHost: ex.forwardedHost,
    overrideHost,
    identityNames: edge.identity.names,
    removed: policy?.removedHeaders,
    extra: identity ? edge.identity.headersFor(identity) : undefined,
  };
}

/** Builds the flat [name, value, ...] header list sent upstream, from the client's raw headers. */
export function upstreamRequestHeaders(req: IncomingMessage, info: ForwardedInfo): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  const identityNames = info.identityNames;
  let connection: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || GATEWAY_SET.has(name) || identityNames.has(name)) {
      if (name === 'connection') connection = raw[i + 1];
      continue;
    }
    // CGI/WSGI servers read X_User_Id as X-User-Id and X_Forwarded_For as X-Forwarded-For: underscore
    // spellings of the headers Gatehouse owns (identity headers included) are dropped too.
    if (name.includes('_') && isGatewayOwned(name.replaceAll('_', '-'), identityNames)) continue;
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
  if (info.removed) removeListed(out, info.removed);
  out.push(
    'host', info.overrideHost ?? host ?? '',
    'x-request-id', info.requestId,
    'traceparent', info.traceparent,
    'x-forwarded-for', info.forwardedFor,
    'x-forwarded-proto', info.proto,
    'via', viaFor(req.httpVersion),
  );
  const forwardedHost = info.forwardedHost ?? host;
  if (forwardedHost !== undefined) out.push('x-forwarded-host', forwardedHost);
  if (info.extra) for (let i = 0; i < info.extra.length; i++) out.push(info.extra[i]!);
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
