/**
 * The latest errors, for the dashboard's live tail: requests answered 5xx or with one of the gateway's own
 * reasons. A fixed ring of preallocated entries, overwritten in place, so a flood of errors costs no memory
 * and no allocation; the oldest entry goes first.
 */

export interface ErrorEntry {
  /** Wall-clock ms. */
  time: number;
  requestId: string;
  route: string | null;
  status: number;
  reason: string | null;
}

export class ErrorTail {
  readonly #entries: ErrorEntry[];
  /** Entries ever pushed; the next slot is #pushed % capacity. */
  #pushed = 0;

  constructor(capacity = 100) {
    this.#entries = Array.from({ length: capacity }, () => ({ time: 0, requestId: '', route: null, status: 0, reason: null }));
  }

  push(time: number, requestId: string, route: string | undefined, status: number, reason: string | undefined): void {
    const entry = this.#entries[this.#pushed % this.#entries.length]!;
    this.#pushed++;
    entry.time = time;
    entry.requestId = requestId;
    entry.route = route ?? null;
    entry.status = status;
    entry.reason = reason ?? null;
  }

  /** How many were ever pushed: `since(n)` returns those pushed after the n-th. */
  get pushed(): number {
    return this.#pushed;
  }

  /** Copies of the entries pushed after the `after`-th (at most the capacity), oldest first. */
  since(after: number): ErrorEntry[] {
    const capacity = this.#entries.length;
    const from = Math.max(after, this.#pushed - capacity);
    const out: ErrorEntry[] = [];
    for (let i = from; i < this.#pushed; i++) out.push({ ...this.#entries[i % capacity]! });
    return out;
  }

  /** The latest entries, newest first. */
  latest(): ErrorEntry[] {
    return this.since(0).reverse();
  }
}
