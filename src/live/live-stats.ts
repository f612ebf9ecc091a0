/**
 * Live statistics: rolling windows of the traffic, computed in the gateway (not scraped from Prometheus), for
 * the dashboard and the alert rules. One window ring per route name (window-ring.ts) and one for requests that
 * matched no route; per-upstream and overall figures are sums of those rings, made when a window is read, so
 * recording a request touches one bucket: a map lookup by route name, counter increments and one sketch insert,
 * with the coarse clock of the deadline ticker and no allocation.
 *
 * Keys are route names only, so memory is bounded by routes × window whatever the paths; a route a reload
 * removed is dropped with its ring. Latency is the time to the response head (`ex.headMs`): an upgraded
 * connection counts until its 101, not its lifetime. A request the gateway answered itself counts until it
 * finished (its head and small body go out together); a client that left before any head has no latency.
 *
 * With workers, each worker's LiveStats reports its completed seconds (`exportCompleted`) on the snapshot
 * channel, and the primary's adds them (`mergeExport`): the primary's windows are the instance's.
 */
import type { Exchange } from '../pipeline/exchange.ts';
import { Bucket, type EncodedBucket } from './bucket.ts';
import { ErrorTail, type ErrorEntry } from './error-tail.ts';
import { WindowRing } from './window-ring.ts';

export interface LiveRoute {
  readonly name: string;
  readonly upstream: string;
}

/** A worker's completed seconds and new errors since its previous export. */
export interface LiveExport {
  readonly buckets: ReadonlyArray<{ readonly route: string | null; readonly bucket: EncodedBucket }>;
  readonly errors: readonly ErrorEntry[];
}

/** One window, summed: overall, per route and per upstream. */
export interface WindowTotals {
  readonly seconds: number;
  readonly overall: Bucket;
  readonly routes: ReadonlyMap<string, Bucket>;
  readonly upstreams: ReadonlyMap<string, Bucket>;
}

export class LiveStats {
  #rings = new Map<string, WindowRing>();
  #upstreamOf = new Map<string, string>();
  readonly #unrouted = new WindowRing();
  readonly errors = new ErrorTail();
  readonly #clock: () => number;
  readonly #origin: number;
  #exportedUpTo = -1;
  #exportedErrors = 0;

  /**
   * `clock`: performance.now()-style ms, coarse is fine (the deadline ticker's); `origin`: its epoch in
   * wall-clock ms (performance.timeOrigin), so seconds are wall-clock seconds shared by every process.
   */
  constructor(clock: () => number = () => performance.now(), origin = performance.timeOrigin) {
    this.#clock = clock;
    this.#origin = origin;
  }

  /**
   * The routes to keep windows for (at start and on each reload): rings of routes that stay are kept; those
   * of removed routes are added to the unrouted ring, so the overall figures do not dip at a reload.
   */
  configure(routes: readonly LiveRoute[]): void {
    const rings = new Map<string, WindowRing>();
    const upstreamOf = new Map<string, string>();
    for (const { name, upstream } of routes) {
      rings.set(name, this.#rings.get(name) ?? new WindowRing());
      upstreamOf.set(name, upstream);
    }
    for (const [name, ring] of this.#rings) if (!rings.has(name)) this.#unrouted.absorb(ring);
    this.#rings = rings;
    this.#upstreamOf = upstreamOf;
  }

  /** The finish hook. */
  readonly record = (ex: Exchange): void => {
    const now = this.#clock();
    const second = Math.floor((this.#origin + now) / 1000);
    const route = ex.route;
    const ring = route === undefined ? this.#unrouted : (this.#rings.get(route) ?? this.#unrouted);
    const status = ex.status;
    const reason = ex.reason;
    const head = ex.headMs;
    const latency = head !== undefined ? head : reason === 'client_aborted' ? -1 : Math.max(0, now - ex.start);
    ring.at(second).record(status, reason, latency);
    if (status >= 500 || (reason !== undefined && status >= 400)) this.errors.push(this.#origin + now, ex.requestId, route, status, reason);
  };

  /** Wall-clock ms now, by this instance's clock. */
  now(): number {
    return this.#origin + this.#clock();
  }

  /** The window of `seconds` complete seconds before `nowMs` (wall-clock ms). */
  window(seconds: number, nowMs = this.now()): WindowTotals {
    const current = Math.floor(nowMs / 1000);
    const from = current - seconds;
    const to = current - 1;
    const overall = new Bucket();
    const routes = new Map<string, Bucket>();
    const upstreams = new Map<string, Bucket>();
    for (const [name, ring] of this.#rings) {
      ring.settle(current);
      const sum = new Bucket();
      ring.sum(sum, from, to);
      routes.set(name, sum);
      const upstream = this.#upstreamOf.get(name)!;
      let total = upstreams.get(upstream);
      if (total === undefined) upstreams.set(upstream, (total = new Bucket()));
      total.add(sum);
      overall.add(sum);
    }
    this.#unrouted.settle(current);
    this.#unrouted.sum(overall, from, to);
    return { seconds, overall, routes, upstreams };
  }

  /** The seconds completed since the last export, and the errors since then (a worker's report). */
  exportCompleted(nowMs = this.now()): LiveExport {
    const current = Math.floor(nowMs / 1000);
    const buckets: Array<{ route: string | null; bucket: EncodedBucket }> = [];
    for (const [name, ring] of this.#rings) {
      for (const b of ring.completed(this.#exportedUpTo, current)) buckets.push({ route: name, bucket: b.encode() });
    }
    for (const b of this.#unrouted.completed(this.#exportedUpTo, current)) buckets.push({ route: null, bucket: b.encode() });
    this.#exportedUpTo = current - 1;
    const errors = this.errors.since(this.#exportedErrors);
    this.#exportedErrors = this.errors.pushed;
    return { buckets, errors };
  }

  /** Adds a worker's export to these windows (the primary). */
  mergeExport(exported: LiveExport): void {
    for (const { route, bucket } of exported.buckets) {
      const ring = route === null ? this.#unrouted : (this.#rings.get(route) ?? this.#unrouted);
      ring.at(bucket.second).addEncoded(bucket);
    }
    for (const e of exported.errors) this.errors.push(e.time, e.requestId, e.route ?? undefined, e.status, e.reason ?? undefined);
  }

  /** Requests held in every ring (tests: memory stays bounded). */
  get keys(): number {
    return this.#rings.size + 1;
  }
}
