/**
 * The one prom-client registry of a process, with the default process and Node.js metrics (CPU, memory,
 * file descriptors, GC, event-loop delay), and the series only the process that loads the config has:
 * config reloads by result. With workers, each worker has a registry of its own and the primary merges them
 * (instance-metrics.ts); without, the gateway's series (gateway-metrics.ts) join this registry.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/** A registry's content as prom-client gives it for merging (what workers send the primary). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export function createRegistry(): Registry {
  const registry = new Registry();
  // The event-loop delay sampler is a timer: at prom-client's default 10 ms it woke every process, idle or
  // not, 100 times a second. Every 50 ms still catches every stall that spans a sample (a stall delays
  // the sample it spans by its whole length).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 50 });
  // Gauges named like counters, which `promtool check metrics` refuses; nodejs_active_handles{type} and
  // friends (kept) give the same counts by type.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return registry;
}

/** How a reload ended: applied, refused at validation, or valid but not applied (a worker could not build it). */
export type ReloadResult = 'success' | 'invalid' | 'failed';

export class ReloadMetrics {
  readonly #counter: Counter<'result'>;

  constructor(registry: Registry) {
    this.#counter = new Counter({
      name: 'gatehouse_config_reloads_total', registers: [registry], labelNames: ['result'],
      help: 'Config reloads by result: success, invalid (the config did not validate), failed (valid, but not applied).',
    });
    // Zero from the start, so increase() sees the first failure.
    for (const result of ['success', 'invalid', 'failed'] as const) this.#counter.inc({ result }, 0);
  }

  record(result: ReloadResult): void {
    this.#counter.inc({ result });
  }
}
