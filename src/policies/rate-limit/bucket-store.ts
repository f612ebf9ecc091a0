/**
 * The in-memory GCRA buckets of one process, shared by every rate-limit policy of every runtime through
 * SharedResources, so buckets survive reloads. A bucket is one number, its theoretical arrival time (TAT):
 * the moment it would be full again. A bucket whose TAT has passed is full, exactly like one never seen, so
 * dropping it loses nothing: a sweep every SWEEP_MS removes those, which bounds memory by the buckets still
 * refilling. A hard cap (maxBuckets) drops the longest-held buckets first when even those are too many
 * (such a bucket starts full again: looser, never stricter). Not LRU on purpose: moving a hot bucket to the
 * end on every take (delete + set) costs more than the whole rest of a take.
 *
 * take() checks every limit of a request, then takes from all of them or none: a refused request consumes
 * nothing. It allocates nothing: the caller passes its own arrays and reads the outcome from `occupancy`.
 */
import type { Closable } from '../../leases/shared-resources.ts';

/** How often buckets that are full again are dropped, ms. */
const SWEEP_MS = 10_000;
const DEFAULT_MAX_BUCKETS = 1_000_000;

/**
 * Float tolerance of the admission test, as a share of one emission interval: sums of fractional intervals
 * may round a hair above the capacity; admitting a request a thousandth of one interval early never
 * admits one request more.
 */
export const TOLERANCE = 1e-3;

export class BucketStore implements Closable {
  readonly #tats = new Map<string, number>();
  readonly #maxBuckets: number;
  #nextSweep = -Infinity;

  constructor(maxBuckets = DEFAULT_MAX_BUCKETS) {
    this.#maxBuckets = maxBuckets;
  }

  /**
   * One request against `count` buckets: keys[i] refills one token per interval[i] ms and holds
   * capacity[i] = burst × interval ms. Admitted only when every bucket has a token; then one is taken from
   * each. occupancy[i] is set to how long (ms) bucket i needs to be full again after the decision.
   */
  take(keys: readonly string[], count: number, interval: Float64Array, capacity: Float64Array, now: number, occupancy: Float64Array): boolean {
    if (now >= this.#nextSweep) this.#sweep(now);
    const tats = this.#tats;
    let admitted = true;
    for (let i = 0; i < count; i++) {
      const stored = tats.get(keys[i]!);
      const tat = stored === undefined || stored < now ? now : stored;
      occupancy[i] = tat - now;
      if (tat - now + interval[i]! > capacity[i]! + interval[i]! * TOLERANCE) admitted = false;
    }
    if (!admitted) return false;
    for (let i = 0; i < count; i++) {
      const after = occupancy[i]! + interval[i]!;
      occupancy[i] = after;
      tats.set(keys[i]!, now + after);
    }
    if (tats.size > this.#maxBuckets) this.#evict(tats.size - this.#maxBuckets);
    return true;
  }

  /** Buckets held now (full ones may linger until the next sweep). */
  get size(): number {
    return this.#tats.size;
  }

  close(): void {
    this.#tats.clear();
  }

  #sweep(now: number): void {
    this.#nextSweep = now + SWEEP_MS;
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }

  #evict(count: number): void {
    for (const key of this.#tats.keys()) {
      if (count-- <= 0) return;
      this.#tats.delete(key);
    }
  }
}
