/**
 * The live state of one target, kept by identity — (upstream name, target URL) — so it outlives reloads
 * that keep the target (target-registry.ts leases it the way pools are leased). Every attempt reports its
 * outcome here; balancers read `inFlight` and `available`; health checks and circuit breakers (traffic
 * control) will listen to outcomes and flip `available`.
 *
 * Timers a listener starts go through `setTimer`/`setInterval` here, so disposing of the state (the target
 * was removed and the last runtime using it has drained) stops them all.
 */

/** How one attempt to this target ended. The proxy's outcome table maps each failure to its reason. */
export type AttemptOutcome =
  | 'response'          // the target answered with a response head (any status) and the body completed
  | 'connect_failure'   // refused, unreachable, TLS failed
  | 'connect_timeout'
  | 'response_timeout'  // no response head in time (upstream timeouts.response or the route's timeout)
  | 'reset'             // the connection closed before a complete response head
  | 'bad_response'      // the target sent something that is not valid HTTP
  | 'body_error'        // the response body broke off
  | 'body_timeout'      // the response body went silent
  | 'cancelled';        // the gateway or the client ended the attempt (not the target's fault)

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

export class TargetState {
  readonly upstream: string;
  readonly url: string;
  /** Attempts in flight now (an upgraded connection counts until it closes). */
  inFlight = 0;
  /** False while the target must not get traffic; every balancer honours it. */
  available = true;
  attempts = 0;
  failures = 0;
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
