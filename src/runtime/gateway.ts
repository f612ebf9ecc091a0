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
    const old = this.#runtime;
    const next = buildRuntime(config, this.#shared, old);
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
