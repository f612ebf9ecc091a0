/**
 * The server stage: what every request gets before and regardless of routing. It assigns the request ID
 * and trace context, resolves the client IP (trusted proxies), removes client-sent identity headers,
 * enforces the URL and header size limits and normalises the path, so that every response — 404s and
 * refusals included — carries a request ID and is logged.
 */
import type { IncomingMessage } from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import { requestIdFrom, traceFrom } from '../observability/request-id.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { forwardedFacts } from './client-ip.ts';
import type { Exchange } from './exchange.ts';
import { normalizePath } from './normalize-path.ts';

export interface StageLimits {
  readonly maxUrlLength: number;
  readonly maxHeaderSize: number;
}

export function newExchange(req: IncomingMessage, edge: EdgeSettings): Exchange {
  const headers = req.headers;
  const trace = traceFrom(headers.traceparent);
  const names = edge.identity.names;
  // Identity headers are Gatehouse's to set: client copies never reach routing, policies or upstreams.
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
  const facts = forwardedFacts(req.socket.remoteAddress, headers, (req.socket as { encrypted?: boolean }).encrypted === true, edge.trustedProxies);
  return {
    start: performance.now(),
    time: Date.now(),
    requestId: requestIdFrom(headers['x-request-id']),
    traceId: trace.traceId,
    traceparent: trace.traceparent,
    method: req.method ?? 'GET',
    host: headers.host,
    clientIp: facts.clientIp,
    forwardedFor: facts.forwardedFor,
    forwardedProto: facts.forwardedProto,
    forwardedHost: facts.forwardedHost,
    consumer: undefined,
    path: '',
    route: undefined,
    upstream: undefined,
    target: undefined,
    status: 0,
    reason: undefined,
    bytesIn: 0,
    bytesOut: 0,
    upstreamMs: undefined,
    upstreamError: undefined,
  };
}

export type StageResult = { readonly path: string; readonly query: string } | { readonly refuse: Reason };

/** Checks limits and normalises the request target; sets ex.path. */
export function checkRequestTarget(req: IncomingMessage, ex: Exchange, limits: StageLimits): StageResult {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  ex.path = rawPath.length > 2048 ? `${rawPath.slice(0, 2048)}...` : rawPath;
  if (url.length > limits.maxUrlLength) return { refuse: 'uri_too_long' };
  if (headerBytes(req.rawHeaders) > limits.maxHeaderSize) return { refuse: 'headers_too_large' };
  const path = normalizePath(rawPath);
  if (path === undefined) return { refuse: 'bad_path' };
  ex.path = path;
  return { path, query: q === -1 ? '' : url.slice(q) };
}

// Node counts the URL toward its own header limit, so the server is configured with room for both and
// each limit is checked here on its own.
function headerBytes(raw: string[]): number {
  let total = 0;
  for (let i = 0; i < raw.length; i++) total += raw[i]!.length + 2;
  return total;
}
