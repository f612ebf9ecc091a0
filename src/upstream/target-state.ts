/**
 * The live state of one target, kept by identity — (upstream name, target URL) — so it outlives reloads
 * that keep the target (target-registry.ts leases it the way pools are leased). Every attempt reports its
 * outcome here; balancers read `inFlight` and `available`. A target is available when the operator has not
 * switched it off (`enabled`), active health checks call it healthy (`healthy`, set from the health monitor's
 * transitions) and its circuit breaker admits the pick (circuit-breaker.ts, fed by record() directly).
 *
 * Timers a listener starts go through `setTimer`/`setInterval` here, so disposing of the state (the target
 * was removed and the last runtime using it has drained) stops them all.
 */

import type { AttemptOutcome } from './outcome.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';

export type { AttemptOutcome };

export interface OutcomeReport {
  readonly outcome: AttemptOutcome;
  /** The response status, when a head arrived. */
  readonly status: number | undefined;
  /** Dispatch to response head, ms (undefined when no head arrived). */
  readonly headersMs: number | undefined;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** Weight of the newest sample in the latency EWMA: about the last 10 responses count. */
const EWMA_ALPHA = 0.2;
const RECENT = 32;

export type OutcomeListener = (report: OutcomeReport, state: TargetState) => void;

/** What counts attempts for metrics: called on every attempt with no object made (see record()). */
export interface AttemptMeter {
  attempt(outcome: AttemptOutcome, headersMs: number | undefined): void;
}

export class TargetState {
  readonly upstream: string;
  readonly url: string;
  /** Attempts in flight now (an upgraded connection counts until it closes). */
  inFlight = 0;
  /** The operator's switch (the set-target-available command); false keeps traffic away whatever else says. */
  enabled = true;
  /** What active health checks say; true until a check fails unhealthyAfter times (and with no checks). */
  healthy = true;
  /** This process's breaker for the target; null when the upstream turned breakers off. */
  breaker: CircuitBreaker | null = null;
  /** The health check and breaker settings the state was last configured with (see target-control.ts). */
  healthCheckKey: string | undefined = undefined;
  breakerKey: string | undefined = undefined;
  attempts = 0;
  failures = 0;
  /** Set by the metrics (src/metrics/gateway-metrics.ts) through TargetRegistry.meterWith. */
  meter: AttemptMeter | undefined = undefined;
  /** EWMA of dispatch-to-headers time, ms; undefined before the first response. */
  latencyEwmaMs: number | undefined = undefined;
  /** The last outcomes, oldest first once full (a ring; see recentOutcomes()). */
  readonly #recent: AttemptOutcome[] = [];
  #recentNext = 0;
  #listeners: readonly OutcomeListener[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #disposed = false;

  constructor(upstream: string, url: string) {
    this.upstream = upstream;
    this.url = url;
  }

  /**
   * Whether a pick may choose the target now; every balancer honours it. Reading it can move an open breaker
   * whose openFor has passed to half-open (the pick reached the target).
   */
  get available(): boolean {
    if (!this.enabled || !this.healthy) return false;
    const breaker = this.breaker;
    return breaker === null || breaker.admits(this.inFlight);
  }

  /** `available` without its side effect: for reports (the snapshot), never for picks. */
  peekAvailable(): boolean {
    return this.enabled && this.healthy && (this.breaker === null || this.breaker.wouldAdmit(this.inFlight));
  }

  /** Setting it is the operator's switch: `enabled`. */
  set available(value: boolean) {
    this.enabled = value;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  report(report: OutcomeReport): void {
    this.record(report.outcome, report.status, report.headersMs, report.bytesSent, report.bytesReceived, report);
  }

  /**
   * report() without the report object: every attempt reports, and most targets have no listener, so the
   * object is made only for listeners (`made`: one the caller already has).
   */
  record(outcome: AttemptOutcome, status: number | undefined, headersMs: number | undefined, bytesSent: number, bytesReceived: number, made?: OutcomeReport): void {
    this.attempts++;
    if (outcome !== 'response' && outcome !== 'cancelled') this.failures++;
    if (headersMs !== undefined) {
      this.latencyEwmaMs = this.latencyEwmaMs === undefined ? headersMs : this.latencyEwmaMs + EWMA_ALPHA * (headersMs - this.latencyEwmaMs);
    }
    if (this.#recent.length < RECENT) this.#recent.push(outcome);
    else this.#recent[this.#recentNext] = outcome;
    this.#recentNext = (this.#recentNext + 1) % RECENT;
    this.breaker?.record(outcome, status);
    this.meter?.attempt(outcome, headersMs);
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    const report = made ?? { outcome, status, headersMs, bytesSent, bytesReceived };
    for (let i = 0; i < listeners.length; i++) listeners[i]!(report, this);
  }

  /** The last outcomes (at most 32), oldest first. */
  recentOutcomes(): AttemptOutcome[] {
    const recent = this.#recent;
    return recent.length < RECENT ? [...recent] : [...recent.slice(this.#recentNext), ...recent.slice(0, this.#recentNext)];
  }

  /** Listens to every outcome reported; returns the removal. */
  onOutcome(listener: OutcomeListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** A timer owned by this state: it never keeps the process alive and stops when the state is disposed. */
  setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms).unref();
    this.#timers.add(timer);
    return timer;
  }

  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setInterval(fn, ms).unref();
    this.#timers.add(timer);
    return timer;
  }

  clearTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Timers running now (for tests and the admin view). */
  get timers(): number {
    return this.#timers.size;
  }

  /** Stops every timer and listener; the target is gone from every runtime. */
  dispose(): void {
    this.#disposed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#listeners = [];
  }
}
