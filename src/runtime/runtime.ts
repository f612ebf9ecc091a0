/**
 * A Runtime is one complete, immutable snapshot built from one config: router, upstreams and access log.
 * Requests hold the runtime they started on; a reload swaps the gateway's reference and retires the old
 * runtime, which releases its pools (and access log, if the new runtime did not keep it) once its last
 * in-flight request has finished.
 */
import type { Config } from '../config/schema.ts';
import type { AccessLog } from '../observability/access-log.ts';
import type { Router } from '../router/router.ts';
import type { IpSet } from '../net/ip-set.ts';
import type { IdentityHeaders } from '../pipeline/identity-headers.ts';
import type { Tracing } from '../tracing/tracing.ts';
import type { SharedRedis } from '../redis/shared-redis.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { RouteRuntime } from './route.ts';

/** What the server stage needs before routing: identity header names to strip, proxies to trust, tracing. */
export interface EdgeSettings {
  readonly identity: IdentityHeaders;
  readonly trustedProxies: IpSet;
  /** Client request headers never forwarded as sent (lower-case, dash spelling): see droppedRequestHeaders. */
  readonly dropped: ReadonlySet<string>;
  /** Tracing (`tracing.enabled`): samples the traces started here and records sampled requests; else undefined. */
  readonly tracing?: Tracing | undefined;
}

export class Runtime {
  readonly config: Config;
  readonly router: Router<RouteRuntime>;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly accessLog: AccessLog;
  readonly edge: EdgeSettings;
  /** The connection to the config's `redis:`, leased (undefined without one). */
  readonly redis: SharedRedis | undefined;
  #inFlight = 0;
  #retired = false;
  #release: (() => void) | undefined;

  constructor(
    config: Config, router: Router<RouteRuntime>, upstreams: ReadonlyMap<string, Upstream>, accessLog: AccessLog, edge: EdgeSettings, release: () => void, redis?: SharedRedis,
  ) {
    this.redis = redis;
    this.config = config;
    this.edge = edge;
    this.router = router;
    this.upstreams = upstreams;
    this.accessLog = accessLog;
    this.#release = release;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  enter(): void {
    this.#inFlight++;
  }

  leave(): void {
    if (--this.#inFlight === 0 && this.#retired) this.#close();
  }

  /** No new requests will start here; release resources (and run `also`) once the in-flight ones finish. */
  retire(also?: () => void): void {
    this.#retired = true;
    const release = this.#release;
    this.#release = () => {
      release?.();
      also?.();
    };
    if (this.#inFlight === 0) this.#close();
  }

  #close(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}
