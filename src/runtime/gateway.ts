/**
 * The Gateway: one process's data plane, and the one name for the running gateway in that process. It holds
 * the current runtime and the state that outlives reloads (pools, target state, shared policy resources,
 * finish hooks). A reload is prepare (build a complete runtime) then commit (swap one reference); if building
 * throws, the old runtime keeps serving. Requests already running finish on the runtime they started on.
 */
import type { Config, RouteConfig } from '../config/schema.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { FinishHooks } from '../pipeline/finish-hooks.ts';
import { DeadlineTicker } from './deadline-ticker.ts';
import { PoolRegistry } from '../upstream/pool-registry.ts';
import { TargetRegistry } from '../upstream/target-registry.ts';
import { applyTargetControl, type TargetControl } from '../upstream/target-control.ts';
import { describeEvent, TargetEvents, type TargetEvent } from '../upstream/target-events.ts';
import { buildRuntime, type SharedState } from './build.ts';
import type { Runtime } from './runtime.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { SharedRegistry } from '../leases/shared-registry.ts';
import type { RetryBudget } from '../retry/retry-budget.ts';
import type { RetryPolicy } from './route.ts';
import type { GatewaySnapshot, TargetSnapshot } from './snapshot.ts';
import { TrafficCounts } from './traffic-counts.ts';
import { traceAtFinish } from '../tracing/tracing.ts';
import { LiveStats } from '../live/live-stats.ts';

export interface GatewayOptions {
  /**
   * Tests only: a route's retry policy in place of the one its `retry` config builds (undefined: the config's),
   * asked on every build.
   */
  readonly retryFor?: (route: RouteConfig) => RetryPolicy | undefined;
}

export class Gateway {
  readonly #shared: SharedState;
  #runtime: Runtime;
  #draining = false;
  /** Checks the timeouts of every attempt in flight (one interval for all, see deadline-ticker.ts). */
  readonly deadlines = new DeadlineTicker();
  /** Run once per finished request, after its access log line (pipeline/finish-hooks.ts). */
  readonly finishHooks: FinishHooks;
  /**
   * Health and breaker transitions of this process's targets (target-events.ts). Breaker transitions are
   * logged here; health ones by the health monitor that decided them.
   */
  readonly targetEvents: TargetEvents;
  readonly #control: TargetControl;
  readonly #counts = new TrafficCounts();
  /** Rolling windows of this process's traffic (live/live-stats.ts), on the deadline ticker's coarse clock. */
  readonly live = new LiveStats(() => this.deadlines.now());
  /** Runtimes swapped out whose requests are still running. */
  readonly #retiring = new Set<Runtime>();
  /** The tracing finish hook is registered with the first runtime that traces, and stays (tracing.ts). */
  #tracingHooked = false;

  constructor(config: Config, log: Logger = createLogger(config.log.level), options: GatewayOptions = {}) {
    this.#shared = { pools: new PoolRegistry(), targets: new TargetRegistry(), resources: new SharedResources(), log,
      retryBudgets: new SharedRegistry<RetryBudget>(() => {}), retryFor: options.retryFor };
    this.finishHooks = new FinishHooks(log);
    this.finishHooks.add('traffic-counts', this.#counts.record);
    // liveStats.enabled is read here only (a change takes effect on restart): off, the windows stay empty.
    if (config.liveStats.enabled) this.finishHooks.add('live-stats', this.live.record);
    this.targetEvents = new TargetEvents((error) => log.error({ err: error }, 'a target event listener failed'));
    this.#control = { clock: this.deadlines, publish: (event) => this.#publish(event, log) };
    this.#runtime = this.#traced(buildRuntime(config, this.#shared));
    this.live.configure(config.routes);
    applyTargetControl(this.#runtime.upstreams.values(), this.#control);
  }

  #publish(event: TargetEvent, log: Logger): void {
    if (event.kind === 'breaker') {
      const fields = { upstream: event.upstream, target: event.url, breaker: event.state, why: event.why };
      if (event.state === 'open') log.warn(fields, describeEvent(event));
      else log.info(fields, describeEvent(event));
    }
    this.targetEvents.emit(event);
  }

  /**
   * Applies a health transition decided by the health monitor (set-target-health). A target no runtime has
   * (a reload removed it meanwhile) is skipped: returns false.
   */
  setTargetHealth(upstream: string, url: string, healthy: boolean, why: string): boolean {
    const state = this.#shared.targets.get(upstream, url);
    if (state === undefined) return false;
    if (state.healthy === healthy) return true;
    state.healthy = healthy;
    this.targetEvents.emit({ kind: 'health', upstream, url, state: healthy ? 'up' : 'down', time: Date.now(), why });
    return true;
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get pools(): PoolRegistry {
    return this.#shared.pools;
  }

  /** Target state by (upstream, URL), shared by every runtime that has the target. */
  get targets(): TargetRegistry {
    return this.#shared.targets;
  }

  /** Retry budgets by upstream name, shared by every runtime with a route that retries to that upstream. */
  get retryBudgets(): SharedRegistry<RetryBudget> {
    return this.#shared.retryBudgets;
  }

  /** Builds and swaps in a runtime for `config`. Throws (leaving the old one serving) if it cannot be built. */
  reload(config: Config): void {
    this.commit(this.prepare(config));
  }

  /**
   * Builds a complete runtime for `config` without serving it (the first half of a reload; with workers,
   * every worker prepares before any commits). Throws if it cannot be built; nothing changes then.
   */
  prepare(config: Config): Runtime {
    return this.#traced(buildRuntime(config, this.#shared, this.#runtime));
  }

  /**
   * Registers the tracing finish hook the first time a runtime traces. Until then, no hook runs for it; after,
   * it costs a field check for requests not recorded. It stays when a reload turns tracing off, so requests
   * that started on the tracing runtime still end their spans.
   */
  #traced(runtime: Runtime): Runtime {
    if (runtime.edge.tracing !== undefined && !this.#tracingHooked) {
      this.#tracingHooked = true;
      this.finishHooks.add('tracing', traceAtFinish);
    }
    return runtime;
  }

  /** Releases a prepared runtime that will not be committed (another worker could not prepare). */
  discard(prepared: Runtime): void {
    if (prepared === this.#runtime) return;
    prepared.retire(() => {
      if (prepared.accessLog !== this.#runtime.accessLog) prepared.accessLog.close();
    });
  }

  /** Swaps a prepared runtime in; requests already running finish on the old one, which is then released. */
  commit(next: Runtime): void {
    const old = this.#runtime;
    if (next === old) return;
    this.#runtime = next;
    this.live.configure(next.config.routes);
    applyTargetControl(next.upstreams.values(), this.#control);
    this.#retiring.add(old);
    old.retire(() => {
      if (old.accessLog !== next.accessLog) old.accessLog.close();
      this.#retiring.delete(old);
    });
  }

  /** This process's traffic and targets (see snapshot.ts); the primary merges the workers' ones. */
  snapshot(): GatewaySnapshot {
    const targets: TargetSnapshot[] = [];
    for (const upstream of this.#runtime.upstreams.values()) {
      for (const { state } of upstream.targets) {
        targets.push({
          upstream: state.upstream, url: state.url, inFlight: state.inFlight, available: state.peekAvailable(),
          healthy: state.healthy, breaker: state.breaker?.state ?? 'off',
          attempts: state.attempts, failures: state.failures, latencyEwmaMs: state.latencyEwmaMs ?? null,
        });
      }
    }
    const counts = this.#counts;
    return {
      workers: 1, requests: counts.requests, inFlight: this.inFlight,
      statusClasses: counts.statusClasses(), reasons: counts.reasons(), targets,
    };
  }

  /** Requests in flight now, on the current runtime and on those retiring. */
  get inFlight(): number {
    let count = this.#runtime.inFlight;
    for (const runtime of this.#retiring) count += runtime.inFlight;
    return count;
  }

  /** Marks the gateway as draining: responses close their connections, readiness turns false. */
  startDraining(): void {
    this.#draining = true;
  }

  /** Waits until every in-flight request has finished (or `timeoutMs` passed); true if all finished. */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.#runtime.inFlight > 0 || this.#retiring.size > 0) {
      if (performance.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async close(): Promise<void> {
    this.deadlines.close();
    // Released with the runtime below (its close is not awaited there); awaited here so the last spans are sent.
    const spans = this.#runtime.edge.tracing?.spanExport.close();
    this.#runtime.retire();
    this.#runtime.accessLog.close();
    await Promise.all([this.#shared.resources.closeAll(), this.#shared.pools.closeAll(), this.#shared.targets.closeAll(), spans]);
  }
}
