/**
 * One interval timer that checks the deadlines of every request in flight, instead of a timer per request
 * per phase. Arming and disarming are an array push and a swap-remove (tens of ns) where
 * setTimeout/clearTimeout measured ~1.5 µs per request. A deadline is never honoured early (each check
 * compares against performance.now()) and at most one tick late (10 ms by default), inside the ~50 ms the
 * timeouts promise. The interval runs only while something is watched, and never keeps the process alive.
 *
 * Why an array and not a Set: a Set with one add and one delete per request rehashes its table every few
 * dozen requests, and V8 links each obsolete table to its successor (for live iterators). Once one obsolete
 * table sat in the old generation, that link kept every later table — and every request it held — alive
 * through each young-generation collection: all per-request garbage was promoted, scavenges took 15 ms
 * instead of 0.5 ms, and the process stayed in that mode for life (docs/performance.md). A swap-remove
 * array leaves nothing behind that points at newer objects.
 */
import { monotonicNow } from '../observability/monotonic.ts';
export interface DeadlineWatcher {
  /** Called on every tick while watched; acts if its deadline has passed. */
  checkDeadline(now: number): void;
  /** The watcher's index in the ticker's list while watched, else -1. Owned by the ticker. */
  deadlineSlot: number;
}

export class DeadlineTicker {
  readonly #watched: DeadlineWatcher[] = [];
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() at the last tick (or when the interval started). */
  #now = 0;

  constructor(intervalMs = 10) {
    this.#intervalMs = intervalMs;
  }

  watch(watcher: DeadlineWatcher): void {
    if (watcher.deadlineSlot !== -1) return;
    watcher.deadlineSlot = this.#watched.length;
    this.#watched.push(watcher);
    if (this.#timer === undefined) {
      this.#now = monotonicNow();
      this.#timer = setInterval(this.#tick, this.#intervalMs).unref();
    }
  }

  /**
   * A coarse clock (performance.now() milliseconds) for per-request bookkeeping such as the circuit breakers'
   * windows: while the interval runs it is the time of the last tick (at most one interval stale, and no clock
   * read); while it does not (nothing in flight) it reads the clock.
   */
  now(): number {
    return this.#timer === undefined ? monotonicNow() : this.#now;
  }

  unwatch(watcher: DeadlineWatcher): void {
    const slot = watcher.deadlineSlot;
    if (slot === -1) return;
    watcher.deadlineSlot = -1;
    const last = this.#watched.pop()!;
    if (last === watcher) return;
    this.#watched[slot] = last;
    last.deadlineSlot = slot;
  }

  get size(): number {
    return this.#watched.length;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const watcher of this.#watched) watcher.deadlineSlot = -1;
    this.#watched.length = 0;
  }

  readonly #tick = (): void => {
    const watched = this.#watched;
    if (watched.length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = monotonicNow();
    this.#now = now;
    // Backwards: a watcher that unwatches itself is replaced by the last one, which was already checked.
    // Any other removal during the walk at most repeats a check, which is harmless (checks are idempotent).
    for (let i = watched.length - 1; i >= 0; i--) {
      if (i >= watched.length) continue;
      watched[i]!.checkDeadline(now);
    }
  };
}
