/**
 * Target state shared across reloads by identity: (upstream name, target URL). Each runtime that has the
 * target leases its state; a reload that keeps the target leases the same state before the old runtime
 * releases it, so counts, latency and availability carry over. When the last lease goes (the target was
 * removed and the old runtime drained) the state is disposed of and its timers stop.
 */
import { SharedRegistry, type Lease } from '../leases/shared-registry.ts';
import { TargetState, type AttemptMeter } from './target-state.ts';

/** The one key for a target, used by its state and its pool alike. */
export function targetKey(upstream: string, url: string): string {
  return `${upstream} ${url}`;
}

export class TargetRegistry {
  readonly #states = new SharedRegistry<TargetState>((state) => state.dispose());
  #meter: ((state: TargetState) => AttemptMeter) | undefined = undefined;

  acquire(upstream: string, url: string): Lease<TargetState> {
    return this.#states.acquire(targetKey(upstream, url), () => {
      const state = new TargetState(upstream, url);
      state.meter = this.#meter?.(state);
      return state;
    });
  }

  /** Gives every target state, held now or made later, the meter `make` returns for it (metrics). */
  meterWith(make: (state: TargetState) => AttemptMeter): void {
    this.#meter = make;
    for (const state of this.states()) state.meter = make(state);
  }

  /** The state held now for (upstream, url), if any runtime has that target. */
  get(upstream: string, url: string): TargetState | undefined {
    return this.#states.get(targetKey(upstream, url));
  }

  get size(): number {
    return this.#states.size;
  }

  /** Every state held now. */
  states(): TargetState[] {
    return this.#states.values();
  }

  closeAll(): Promise<void> {
    return this.#states.closeAll();
  }
}
