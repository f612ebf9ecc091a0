/**
 * The one stream of target state changes: active health (up/down) and circuit breaker (open, half-open,
 * closed) transitions, with upstream, target URL, time and why. The Gateway owns one (gateway.targetEvents);
 * the health monitor of a process with workers has its own. Listeners are called synchronously, in order;
 * one that throws does not stop the others (its error goes to `onError`).
 */

export type TargetEventKind = 'health' | 'breaker';
export type TargetEventState = 'up' | 'down' | 'open' | 'half-open' | 'closed';

export interface TargetEvent {
  readonly kind: TargetEventKind;
  readonly upstream: string;
  readonly url: string;
  readonly state: TargetEventState;
  /** Epoch milliseconds. */
  readonly time: number;
  /** e.g. "after 5 consecutive failures". */
  readonly why: string;
}

export type TargetEventListener = (event: TargetEvent) => void;

/** The log line of an event: "target http://… of orders: open after 5 consecutive failures". */
export function describeEvent(event: TargetEvent): string {
  return `target ${event.url} of ${event.upstream}: ${event.state} ${event.why}`;
}

export class TargetEvents {
  #listeners: readonly TargetEventListener[] = [];
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /** Listens to every event; returns the removal. */
  on(listener: TargetEventListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  emit(event: TargetEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
