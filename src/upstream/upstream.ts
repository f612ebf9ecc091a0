/**
 * A named group of targets with its balancer. Picking reads the request's hash key (consistent-hash only)
 * from a header, a cookie, the client IP or the path, as `hashOn` says.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HashOn, UpstreamConfig } from './upstream-schema.ts';
import { cookieValue } from '../net/cookie.ts';
import type { Balancer } from './balancers/balancer.ts';
import type { Target } from './target.ts';

export type HashKeyOf = (headers: IncomingHttpHeaders, path: string, clientIp: string) => string | undefined;

export interface Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly Target[];
  readonly balancer: Balancer<Target>;
  readonly hashKey: HashKeyOf | undefined;
}

export function hashKeyOf(hashOn: HashOn | undefined): HashKeyOf | undefined {
  switch (hashOn?.from) {
    case undefined: return undefined;
    case 'ip': return (_req, _path, ip) => ip;
    case 'path': return (_req, path) => path;
    case 'header': {
      const { name } = hashOn;
      return (headers) => {
        const v = headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
    }
    case 'cookie': {
      const { name } = hashOn;
      return (headers) => cookieValue(headers.cookie, name);
    }
  }
}

/** An available target for a request, by the upstream's balancer; undefined when none is available. */
export function pickTarget(upstream: Upstream, headers: IncomingHttpHeaders, path: string, clientIp: string): Target | undefined {
  return upstream.balancer.pick(upstream.hashKey?.(headers, path, clientIp));
}
