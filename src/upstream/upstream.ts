/**
 * A named group of targets with its balancer. Picking reads the request's hash key (consistent-hash only)
 * from a header, a cookie, the client IP or the path, as `hashOn` says.
 */
import type { IncomingMessage } from 'node:http';
import type { UpstreamConfig } from '../config/schema.ts';
import { cookieValue } from '../net/cookie.ts';
import type { Balancer } from './balancers/balancer.ts';
import type { Target } from './target.ts';

export type HashKeyOf = (req: IncomingMessage, path: string, clientIp: string) => string | undefined;

export interface Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly Target[];
  readonly balancer: Balancer<Target>;
  readonly hashKey: HashKeyOf | undefined;
}

export function hashKeyOf(hashOn: string | undefined): HashKeyOf | undefined {
  if (!hashOn) return undefined;
  if (hashOn === 'ip') return (_req, _path, ip) => ip;
  if (hashOn === 'path') return (_req, path) => path;
  const [kind, name] = [hashOn.slice(0, hashOn.indexOf(':')), hashOn.slice(hashOn.indexOf(':') + 1)];
  if (kind === 'header') {
    const lower = name.toLowerCase();
    return (req) => {
      const v = req.headers[lower];
      return Array.isArray(v) ? v[0] : v;
    };
  }
  return (req) => cookieValue(req.headers.cookie, name);
}

export function pickTarget(upstream: Upstream, req: IncomingMessage, path: string, clientIp: string): Target | undefined {
  return upstream.balancer.pick(upstream.hashKey?.(req, path, clientIp));
}
