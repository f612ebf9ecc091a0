/**
 * A retry budget: how many retries an upstream may take, kept per upstream and per worker (Linkerd's model).
 * Within a sliding window, retries allowed = minPerSecond × window seconds + ratio × requests in the window;
 * a retry over that is refused, and the answer of the attempt before it stands.
 *
 * One budget serves every route to its upstream that retries, each with its own ratio, floor and window, so
 * the counts are kept in slots of SLOT_MS over the longest window a route may ask for and summed when a retry
 * is asked for (retries are rare; counting a request is one slot increment). Requests counted are those of
 * routes that retry: a route without `retry` pays nothing here and takes no share of the budget.
 *
 * Times are performance.now() milliseconds passed in by the caller, so tests drive the window without a clock.
 */

export const SLOT_MS = 100;
/** The longest window a route may configure (the schema says the same). */
export const MAX_WINDOW_MS = 60_000;
const SLOTS = MAX_WINDOW_MS / SLOT_MS;

export interface BudgetSettings {
  readonly ratio: number;
  readonly minPerSecond: number;
  /** ms, at most MAX_WINDOW_MS. */
  readonly window: number;
}

export class RetryBudget {
  readonly #requests = new Uint32Array(SLOTS);
  readonly #retries = new Uint32Array(SLOTS);
  /** The absolute slot number (time / SLOT_MS) the ring was last moved to. */
  #current = 0;

  /** A request (its first attempt) to this upstream, at `now`. */
  request(now: number): void {
    this.#requests[this.#advance(now)]!++;
  }

  /** Takes one retry from the budget at `now` if `settings` allow it; false (and nothing taken) otherwise. */
  tryRetry(now: number, settings: BudgetSettings): boolean {
    const slot = this.#advance(now);
    const span = Math.min(SLOTS, Math.max(1, Math.ceil(settings.window / SLOT_MS)));
    let requests = 0;
    let retries = 0;
    for (let i = 0, s = slot; i < span; i++, s = s === 0 ? SLOTS - 1 : s - 1) {
      requests += this.#requests[s]!;
      retries += this.#retries[s]!;
    }
    const allowed = settings.minPerSecond * (settings.window / 1000) + settings.ratio * requests;
    if (retries + 1 > allowed) return false;
    this.#retries[slot]!++;
    return true;
  }

  /** Moves the ring to `now`, clearing the slots it passes over; returns the ring index for `now`. */
  #advance(now: number): number {
    const absolute = Math.floor(now / SLOT_MS);
    const from = this.#current;
    if (absolute > from) {
      const clear = Math.min(absolute - from, SLOTS);
      for (let i = 1; i <= clear; i++) {
        const s = (from + i) % SLOTS;
        this.#requests[s] = 0;
        this.#retries[s] = 0;
      }
      this.#current = absolute;
    }
    // A time before the ring's newest slot (callers pass an exchange's arrival time) counts in the newest.
    return this.#current % SLOTS;
  }
}
