/**
 * Who the client is, and what X-Forwarded-* to send on. From an untrusted peer, every client-sent proxy
 * header is ignored: the client IP is the socket peer and X-Forwarded-For becomes exactly that address
 * (proxyFacts answers undefined and the server stage uses the peer, so most requests make no object here).
 * From a trusted proxy (server.trustedProxies), X-Forwarded-For is read from the right, skipping trusted
 * hops; the first untrusted address is the client (a malformed entry stops the walk: the hop to its right,
 * which a trusted proxy vouched for, is used instead). The chain is passed on with the peer appended, and
 * the proxy's X-Forwarded-Proto/Host are kept.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { isHost } from '../net/host.ts';
import type { IpSet } from '../net/ip-set.ts';

interface ForwardedFacts {
  readonly clientIp: string;
  readonly forwardedFor: string;
  readonly forwardedProto: string;
  readonly forwardedHost: string | undefined;
}

export function peerAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

/** An X-Forwarded-For entry as an address in the peer's spelling, or undefined when it is not an IP. */
function plainIp(entry: string): string | undefined {
  const ip = peerAddress(entry);
  return isIP(ip) === 0 ? undefined : ip;
}

/** Walks an X-Forwarded-For value from the right, returning the first address not in `trusted`. */
export function clientFromChain(chain: string, peer: string, trusted: IpSet): string {
  const hops = chain.split(',');
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = plainIp(hops[i]!.trim());
    if (ip === undefined) return client;
    client = ip;
    if (!trusted.has(ip)) return ip;
  }
  return client;
}

const PROTOS = new Set(['http', 'https']);

const single = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * What a trusted proxy forwarded, for a request from `peer` (as peerAddress spells it) on a listener speaking
 * `proto`; undefined when the peer is not a trusted proxy.
 */
export function proxyFacts(peer: string, headers: IncomingHttpHeaders, proto: string, trusted: IpSet): ForwardedFacts | undefined {
  if (!trusted.has(peer)) return undefined;
  const chain = single(headers['x-forwarded-for']);
  const incomingProto = single(headers['x-forwarded-proto'])?.toLowerCase();
  const host = single(headers['x-forwarded-host']);
  return {
    clientIp: chain ? clientFromChain(chain, peer, trusted) : peer,
    forwardedFor: chain ? `${chain}, ${peer}` : peer,
    forwardedProto: incomingProto !== undefined && PROTOS.has(incomingProto) ? incomingProto : proto,
    forwardedHost: host !== undefined && isHost(host) ? host : undefined,
  };
}
