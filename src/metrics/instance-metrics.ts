/**
 * One scrape for the whole instance with `workers: N`: the primary's own registry merged with the last
 * metrics each worker sent over the channel (in its answer to the report each scrape asks for), by
 * prom-client's AggregatorRegistry.aggregate, which merges each series the way its metric declares
 * (`aggregator`): counters and histograms sum, gatehouse_in_flight_requests sums, gatehouse_target_available
 * takes the max (1 when any worker may send the target traffic, never 2), the event-loop delay averages.
 *
 * A worker that exits leaves its counters and histograms behind (retired), added to every later scrape, so
 * a replaced worker never makes a counter go back (Prometheus would read a reset and rate() would spike);
 * its gauges go with it. Nothing here waits for a worker: a scrape uses what has arrived.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson } from './process-metrics.ts';

/** What a dead worker leaves behind. (prom-client's types declare `type` a numeric enum; it is the string.) */
const KEPT: ReadonlySet<string> = new Set(['counter', 'histogram']);

export class InstanceMetrics<W> {
  readonly #live = new Map<W, MetricsJson>();
  #retired: MetricsJson[] = [];

  /** A worker's latest metrics, replacing its previous ones. */
  update(worker: W, metrics: MetricsJson): void {
    this.#live.set(worker, metrics);
  }

  /** The worker is gone: keep its last counters and histograms, drop its gauges. */
  retire(worker: W): void {
    const last = this.#live.get(worker);
    this.#live.delete(worker);
    if (last) this.#retired.push(last.filter((metric) => KEPT.has(metric.type as unknown as string)));
  }

  /** Workers whose metrics are merged now (not counting retired ones). */
  get workers(): number {
    return this.#live.size;
  }

  /** The Prometheus text of `own` (the primary's registry) merged with every worker's, live and retired. */
  async text(own: Registry): Promise<string> {
    // Retired parts are folded into one, so a worker that keeps crashing cannot grow the list.
    if (this.#retired.length > 1) this.#retired = [await AggregatorRegistry.aggregate(this.#retired).getMetricsAsJSON()];
    return AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...this.#live.values(), ...this.#retired]).metrics();
  }
}
