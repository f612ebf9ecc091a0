/**
 * One instance behind an upstream, as the data plane sees it: its shared pool, its forwarded-path prefix,
 * and live state (in-flight count, availability) that is keyed by upstream and URL so it survives reloads
 * that keep the target.
 */
import type { Pool } from 'undici';
import type { BalancerTarget } from './balancers/balancer.ts';

export interface TargetState {
  inFlight: number;
  available: boolean;
}

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
}
