/**
 * The gateway: holds the current runtime and the state that outlives reloads. `reload` builds a complete new
 * runtime and swaps one reference; if building throws, the old runtime keeps serving and the error is
 * returned. Requests already running finish on the runtime they started on.
 */
import type { Config } from '../config/schema.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { DeadlineTicker } from '../proxy/deadline-ticker.ts';
import { PoolRegistry } from '../upstream/pool-registry.ts';
import type { TargetState } from '../upstream/target.ts';
import { buildRuntime, type SharedState } from './build.ts';
import type { Runtime } from './runtime.ts';
import { SharedResources } from './shared-resources.ts';
import type { GatewaySnapshot, TargetSnapshot } from './snapshot.ts';

export class Gateway {
  readonly #shared: SharedState;
  #runtime: Runtime;
  #draining = false;
  /** Checks the timeouts of every request in flight (one interval for all, see deadline-ticker.ts). */
  readonly deadlines = new DeadlineTicker();
  readonly #retiring = new Set<Promise<void>>();

  constructor(config: Config, log: Logger = createLogger(config.log.level)) {
    this.#shared = { pools: new PoolRegistry(), targetStates: new Map<string, TargetState>(), resources: new SharedResources(), log };
    this.#runtime = buildRuntime(config, this.#shared);
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

  /** Builds and swaps in a runtime for `config`. Throws (leaving the old one serving) if it cannot be built. */
  reload(config: Config): void {
    this.commit(this.prepare(config));
  }

  /**
   * Builds a complete runtime for `config` without serving it (the first half of a reload; with workers,
   * every worker prepares before any commits). Throws if it cannot be built; nothing changes then.
   */
  prepare(config: Config): Runtime {
    return buildRuntime(config, this.#shared, this.#runtime);
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
    let done!: () => void;
    const retired = new Promise<void>((resolve) => { done = resolve; });
    this.#retiring.add(retired);
    old.retire(() => {
      if (old.accessLog !== next.accessLog) old.accessLog.close();
      this.#retiring.delete(retired);
      done();
    });
  }

  /** This process's traffic and targets (see snapshot.ts); the primary merges the workers' ones. */
  snapshot(): GatewaySnapshot {
    const targets: TargetSnapshot[] = [];
    for (const upstream of this.#runtime.upstreams.values()) {
      for (const target of upstream.targets) {
        targets.push({ upstream: upstream.name, url: target.id, inFlight: target.inFlight, available: target.available, attempts: 0, failures: 0, latencyEwmaMs: null });
      }
    }
    return { workers: 1, requests: 0, inFlight: this.#runtime.inFlight, statusClasses: {}, reasons: {}, targets };
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
    this.#runtime.retire();
    this.#runtime.accessLog.close();
    await Promise.all([this.#shared.resources.closeAll(), this.#shared.pools.closeAll()]);
  }
}
