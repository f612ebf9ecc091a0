/**
 * One interval timer that checks the deadlines of every request in flight, instead of a timer per request
 * per phase. Arming and disarming are a Set add and delete (tens of ns) where setTimeout/clearTimeout
 * measured ~1.5 µs per request. A deadline is never honoured early (each check compares against
 * performance.now()) and at most one tick late (10 ms by default), inside the ~50 ms the timeouts promise.
 * The interval runs only while something is watched, and never keeps the process alive.
 */
export interface DeadlineWatcher {
  /** Called on every tick while watched; acts if its deadline has passed. */
  checkDeadline(now: number): void;
}

export class DeadlineTicker {
  readonly #watched = new Set<DeadlineWatcher>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs = 10) {
    this.#intervalMs = intervalMs;
  }

  watch(watcher: DeadlineWatcher): void {
    this.#watched.add(watcher);
    this.#timer ??= setInterval(this.#tick, this.#intervalMs).unref();
  }

  unwatch(watcher: DeadlineWatcher): void {
    this.#watched.delete(watcher);
  }

  get size(): number {
    return this.#watched.size;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
  }

  readonly #tick = (): void => {
    if (this.#watched.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = performance.now();
    for (const watcher of this.#watched) watcher.checkDeadline(now);
  };
}
