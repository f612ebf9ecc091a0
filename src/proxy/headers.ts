/**
 * Header rules for both directions. Hop-by-hop headers (RFC 9110 §7.6.1) and any header the sender names
 * in `Connection` are removed; the client's Connection list is applied before Gatehouse adds its own
 * headers, so a client cannot strip X-Forwarded-* or X-Request-ID by naming them. Client-sent copies of the
 * headers Gatehouse sets are replaced, never passed on.
 */
import type { IncomingMessage } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

/** Headers Gatehouse sets itself on the way upstream; incoming copies are dropped. */
// `expect` is answered by Gatehouse's own server (100-continue) and never forwarded.
const GATEWAY_SET = new Set(['expect', 'x-request-id', 'traceparent', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'forwarded', 'x-real-ip']);

function connectionListed(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const names = value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'close' && s !== 'keep-alive');
  return names.length ? new Set(names) : undefined;
}

export interface ForwardedInfo {
  readonly requestId: string;
  readonly traceparent: string;
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** Host to send upstream, or undefined to let the client's Host through. */
  readonly overrideHost: string | undefined;
}

/** Builds the flat [name, value, ...] header list sent upstream, from the client's raw headers. */
export function upstreamRequestHeaders(req: IncomingMessage, info: ForwardedInfo): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let listed: Set<string> | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'connection') listed = connectionListed(raw[i + 1]);
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || GATEWAY_SET.has(name) || listed?.has(name)) continue;
    if (name === 'host') {
      host ??= raw[i + 1];
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  out.push(
    'host', info.overrideHost ?? host ?? '',
    'x-request-id', info.requestId,
    'traceparent', info.traceparent,
    'x-forwarded-for', info.clientIp,
    'x-forwarded-proto', info.proto,
    'via', `${req.httpVersion} gatehouse`,
  );
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/** Removes hop-by-hop headers from an upstream response (parsed, lower-case keys) in place. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const listed = connectionListed(typeof headers.connection === 'string' ? headers.connection : undefined);
  for (const name of HOP_BY_HOP) if (name in headers) delete headers[name];
  if (listed) for (const name of listed) delete headers[name];
}
