/**
 * The server stage: what every request gets before and regardless of routing. It assigns the request ID
 * and trace context, resolves the client IP (trusted proxies), removes client-sent identity headers,
 * refuses HTTP versions other than 1.0, 1.1 and 2, enforces the URL and header size limits and normalises
 * the path, so that every response — 404s and refusals included — carries a request ID and is logged.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Reason } from '../observability/reasons.ts';
import { declaresBody, Exchange } from '../pipeline/exchange.ts';
import { isSampled, requestIdFrom, traceFrom } from '../observability/request-id.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { peerAddress, proxyFacts } from './client-ip.ts';
import { normalizePath } from './normalize-path.ts';

export interface StageLimits {
  readonly maxUrlLength: number;
  readonly maxHeaderSize: number;
}

/** The Exchange for a request that just arrived (its path is set by checkRequest). */
export function newExchange(req: IncomingMessage, edge: EdgeSettings, isUpgrade = false): Exchange {
  const headers = req.headers;
  const tracing = edge.tracing;
  const trace = traceFrom(headers.traceparent, tracing === undefined ? 1 : tracing.sampleRatio);
  const names = edge.identity.names;
  // Identity headers are Gatehouse's to set: client copies never reach routing, policies or upstreams.
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
  const peer = peerAddress(req.socket.remoteAddress);
  const proto = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  // Only a trusted proxy's X-Forwarded-* are read; from any other peer, the peer is the client and the chain.
  const proxied = proxyFacts(peer, headers, proto, edge.trustedProxies);
  const ex = new Exchange({
    requestId: requestIdFrom(headers['x-request-id']),
    traceId: trace.traceId,
    traceparent: trace.traceparent,
    traceFlags: trace.traceFlags,
    method: req.method ?? 'GET',
    host: headers.host,
    httpVersion: req.httpVersion,
    headers,
    rawHeaders: req.rawHeaders,
    path: '',
    query: '',
    clientIp: proxied ? proxied.clientIp : peer,
    forwardedFor: proxied ? proxied.forwardedFor : peer,
    forwardedProto: proxied ? proxied.forwardedProto : proto,
    forwardedHost: proxied?.forwardedHost,
    isUpgrade,
    hasBody: !isUpgrade && requestHasBody(req),
  });
  if (tracing !== undefined && isSampled(trace.traceFlags)) ex.trace = tracing.begin(trace.parentId);
  return ex;
}

/**
 * Checks the HTTP version, the limits and the request target; sets ex.path and ex.query. Returns the reason
 * to refuse the request with, or undefined to go on.
 */
export function checkRequest(req: IncomingMessage, ex: Exchange, limits: StageLimits): Reason | undefined {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  ex.path = rawPath.length > 2048 ? `${rawPath.slice(0, 2048)}...` : rawPath;
  // HTTP/0.9 (a request line without a version) and unknown versions: nothing Gatehouse forwards.
  const major = req.httpVersionMajor;
  if (major === 1 ? req.httpVersionMinor > 1 : major !== 2) return 'http_version_not_supported';
  if (url.length > limits.maxUrlLength) return 'uri_too_long';
  const head = headerFacts(req.rawHeaders);
  if (head.bytes > limits.maxHeaderSize) return 'headers_too_large';
  // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is a 400 (Node's own answer would be a bare
  // one, without request ID or log line, so Gatehouse checks it here). HTTP/2 carries :authority instead.
  if (head.hosts > 1 || (head.hosts === 0 && major === 1 && req.httpVersionMinor === 1)) return 'bad_request';
  const path = normalizePath(rawPath);
  if (path === undefined) return 'bad_path';
  ex.path = path;
  ex.query = q === -1 ? '' : url.slice(q);
  return undefined;
}

// Node counts the URL toward its own header limit, so the server is configured with room for both and
// each limit is checked here on its own.
function headerFacts(raw: string[]): { bytes: number; hosts: number } {
  let bytes = 0;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers (:path is the URL, limited on its own) are not part of the header budget.
    if (name.charCodeAt(0) === 58) continue;
    bytes += name.length + raw[i + 1]!.length + 4;
    if (isHostName(name)) hosts++;
  }
  return { bytes, hosts };
}

// The spellings clients send are tried first: toLowerCase() makes a new string for "Host" on every request.
function isHostName(name: string): boolean {
  return name === 'Host' || name === 'host' || (name.length === 4 && name.toLowerCase() === 'host');
}

/** HTTP/2 has no Transfer-Encoding: a stream that did not end with its headers carries a body. */
export function requestHasBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  if (declaresBody(headers)) return true;
  return req.httpVersionMajor === 2 && headers['content-length'] === undefined && !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
}
