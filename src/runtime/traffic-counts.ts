/**
 * The few counts every gateway keeps for its snapshot (requests finished, by status class and by reason),
 * fed by a finish hook like any other observer. Metrics and live statistics proper register their own hooks.
 */
import type { Exchange } from '../pipeline/exchange.ts';

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export class TrafficCounts {
  requests = 0;
  readonly #classes = new Float64Array(5);
  readonly #reasons = new Map<string, number>();

  readonly record = (ex: Exchange): void => {
    this.requests++;
    const cls = Math.floor(ex.status / 100) - 1;
    if (cls >= 0 && cls < 5) this.#classes[cls]!++;
    const reason = ex.reason;
    if (reason !== undefined) this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  };

  statusClasses(): Record<string, number> {
    const out: Record<string, number> = {};
    CLASSES.forEach((name, i) => {
      if (this.#classes[i]! > 0) out[name] = this.#classes[i]!;
    });
    return out;
  }

  reasons(): Record<string, number> {
    return Object.fromEntries(this.#reasons);
  }
}
