/**
 * One instance behind an upstream, as one runtime sees it: its pool, its forwarded-path prefix, and its live
 * state (target-state.ts), which is keyed by (upstream, URL) and outlives the runtime.
 */
import type { Pool } from 'undici';
import type { BalancerTarget } from './balancers/balancer.ts';
import type { TargetState } from './target-state.ts';

export class Target implements BalancerTarget {
  readonly id: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Path of the target URL without a trailing slash ("" for none), prefixed to every forwarded path. */
  readonly basePath: string;
  /** host:port of the target, sent as Host when a route does not preserve the client's. */
  readonly host: string;
  readonly state: TargetState;

  constructor(url: string, weight: number, pool: Pool, state: TargetState) {
    const parsed = new URL(url);
    this.id = url;
    this.weight = weight;
    this.pool = pool;
    this.basePath = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
    this.host = parsed.host;
    this.state = state;
  }

  get inFlight(): number {
    return this.state.inFlight;
  }

  get available(): boolean {
    return this.state.available;
  }

  /** `available` without moving a breaker along (GET /explain's peek). */
  peekAvailable(): boolean {
    return this.state.peekAvailable();
  }
}
