/**
 * Explains a request without sending it: which route serves it, the policies that run in order, the
 * upstream, and the target its balancer would pick now, without taking that turn (Balancer.peek). Pure
 * over a config: GET /explain runs it on the running config with the live balancer's peek (or, with N
 * workers, the merged availability); `gatehouse explain -c FILE` runs it offline on a file.
 */
import type { Config } from '../config/schema.ts';
import { compileRouter } from '../router/router.ts';
import { normalizePath } from '../server/normalize-path.ts';
import { availableForPeek, type BalancerTarget } from '../upstream/balancers/balancer.ts';
import { balancers } from '../upstream/balancers/balancer-registry.ts';
import { hashKeyOf } from '../upstream/upstream.ts';
import { routeView } from './route-view.ts';

export interface ExplainInput {
  readonly method: string;
  readonly host: string | undefined;
  /** Path and optional query, as in the request line. */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The client address, for `hashOn: ip` (default 127.0.0.1). */
  readonly clientIp?: string | undefined;
}

/** Live target state by "UPSTREAM URL", when the admin API knows it: availability and in-flight count. */
export type TargetLive = ReadonlyMap<string, { readonly available: boolean; readonly inFlight: number }>;

export interface TargetChoice {
  readonly url: string | null;
  /** How the target was chosen, in a sentence. */
  readonly note: string;
}

export interface Explanation {
  readonly request: ExplainInput & { readonly normalizedPath: string | null };
  /** found, or why no route serves it (the reason the gateway would answer with). */
  readonly outcome: 'found' | 'route_not_found' | 'method_not_allowed' | 'bad_path';
  readonly allow?: string;
  readonly route?: ReturnType<typeof routeView>;
  /** The path the upstream sees (stripPrefix applied, before the target URL's own path). */
  readonly forwardedPath?: string;
  readonly upstream?: { readonly name: string; readonly balancer: string; readonly hashKey: string | null };
  readonly target?: TargetChoice;
}

/** A fresh balancer over the config's targets, availability from `live` (else all available). */
export function peekFresh(config: Config, upstream: string, key: string | undefined, live?: TargetLive): string | undefined {
  const up = config.upstreams[upstream];
  if (up === undefined) return undefined;
  const targets: BalancerTarget[] = up.targets.map((t) => {
    const state = live?.get(`${upstream} ${t.url}`);
    return { id: t.url, weight: t.weight, inFlight: state?.inFlight ?? 0, available: state?.available ?? true };
  });
  const balancer = balancers[up.balancer](targets);
  return balancer.peek ? balancer.peek(key)?.id : targets.find(availableForPeek)?.id;
}

/**
 * `peekLive` asks the live balancer (undefined: none available; null: cannot ask, e.g. N workers); without it
 * or when it answers null, a fresh balancer over `live` (or every target available) answers.
 */
export function explainRequest(
  config: Config, input: ExplainInput,
  options: { peekLive?: ((upstream: string, key: string | undefined) => string | undefined | null) | undefined; live?: TargetLive; offline?: boolean } = {},
): Explanation {
  const rawPath = input.path.split('?')[0] ?? '/';
  const path = normalizePath(rawPath);
  const request = { ...input, normalizedPath: path ?? null };
  if (path === undefined) return { request, outcome: 'bad_path' };
  const found = compileRouter(config.routes).lookup(input.method, path, input.host, input.headers);
  if (found.kind === 'not_found') return { request, outcome: 'route_not_found' };
  if (found.kind === 'method_not_allowed') return { request, outcome: 'method_not_allowed', allow: found.allow };
  const route = found.match.route;
  const upstream = config.upstreams[route.upstream]!;
  const key = hashKeyOf(upstream.hashOn)?.(input.headers, path, input.clientIp ?? '127.0.0.1');
  const live = options.peekLive?.(route.upstream, key);
  let target: TargetChoice;
  if (live !== undefined && live !== null) target = { url: live, note: 'the live balancer\'s next pick (its turn not taken)' };
  else if (live === undefined && options.peekLive) target = { url: null, note: 'no target is available now: the gateway would answer 503 no_healthy_upstream' };
  else {
    const url = peekFresh(config, route.upstream, key, options.live) ?? null;
    const note = options.offline
      ? 'offline: the first pick of a fresh balancer with every target available'
      : 'with several workers each has its own balancer: the first pick of a fresh balancer over the targets available now';
    target = { url, note: url === null ? 'no target is available now: the gateway would answer 503 no_healthy_upstream' : note };
  }
  return {
    request, outcome: 'found', route: routeView(config, route),
    forwardedPath: route.stripPrefix ? found.match.rest : path,
    upstream: { name: route.upstream, balancer: upstream.balancer, hashKey: key ?? null },
    target,
  };
}
