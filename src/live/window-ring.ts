/**
 * The rolling windows of one key (a route): a ring of per-second buckets for the last minute, and a ring of
 * per-minute buckets for the last hour, into which a second is folded once it leaves the second ring. Memory
 * is fixed (SECOND_SLOTS + MINUTE_SLOTS buckets, each with one sketch), whatever the traffic.
 *
 * A window of up to a minute is summed from seconds exactly. A longer one is counted in whole minutes at its
 * old edge (it may reach up to 59 s further back than asked): the price of keeping an hour in 125 buckets.
 * Seconds are wall-clock seconds (epoch / 1000), so buckets from several processes line up.
 */
import { Bucket } from './bucket.ts';

/** Seconds kept unfolded: a minute, plus slack so a window of 60 complete seconds never reads a folded one. */
const SECOND_SLOTS = 64;
/** Minutes kept: an hour, plus the minute being filled. */
const MINUTE_SLOTS = 61;
/** A second older than this (relative to now) is folded into its minute. */
const UNFOLDED_SECONDS = 62;

export class WindowRing {
  readonly #seconds: Bucket[] = Array.from({ length: SECOND_SLOTS }, () => new Bucket());
  readonly #minutes: Bucket[] = Array.from({ length: MINUTE_SLOTS }, () => new Bucket());
  /** Where data for a time the rings no longer hold goes (dropped at the next use). */
  readonly #discard = new Bucket();

  /**
   * The bucket that counts `second`: on the per-request path, an index and a comparison. A slot still holding
   * an older second folds it into its minute first (once per second per route).
   */
  at(second: number): Bucket {
    const slot = this.#seconds[second % SECOND_SLOTS]!;
    if (slot.time === second) return slot;
    if (slot.time > second) return this.#minute(Math.floor(second / 60));
    this.#fold(slot);
    slot.reset(second);
    return slot;
  }

  /**
   * Folds the seconds that left the last minute into their minutes, so `sum` sees each second once, and
   * empties the minutes older than an hour.
   */
  settle(now: number): void {
    for (const slot of this.#seconds) {
      if (slot.time >= 0 && slot.time < now - UNFOLDED_SECONDS) {
        this.#fold(slot);
        slot.reset(-1);
      }
    }
    const oldest = Math.floor(now / 60) - (MINUTE_SLOTS - 1);
    for (const slot of this.#minutes) {
      if (slot.time >= 0 && slot.time < oldest) slot.reset(-1);
    }
  }

  /** Adds the seconds `from`..`to` (inclusive) to `into`; call `settle` first. */
  sum(into: Bucket, from: number, to: number): void {
    for (const slot of this.#seconds) {
      if (slot.time >= from && slot.time <= to) into.add(slot);
    }
    if (to - from < 60) return;
    const fromMinute = Math.floor(from / 60);
    for (const slot of this.#minutes) {
      if (slot.time >= fromMinute && slot.time * 60 <= to) into.add(slot);
    }
  }

  /** Requests counted in the ring (tests, and whether a key has data at all). */
  get requests(): number {
    let n = 0;
    for (const slot of this.#seconds) n += slot.requests;
    for (const slot of this.#minutes) n += slot.requests;
    return n;
  }

  /** Seconds `after`..`before - 1` that hold requests, encoded: a worker's report of its completed seconds. */
  *completed(after: number, before: number): Generator<Bucket> {
    for (const slot of this.#seconds) {
      if (slot.time > after && slot.time < before && slot.requests > 0) yield slot;
    }
  }

  /** Adds everything `other` holds to this ring (a removed route's windows kept in the overall figures). */
  absorb(other: WindowRing): void {
    for (const slot of other.#seconds) {
      if (slot.time >= 0 && slot.requests > 0) this.at(slot.time).add(slot);
    }
    for (const slot of other.#minutes) {
      if (slot.time >= 0 && slot.requests > 0) this.#minute(slot.time).add(slot);
    }
  }

  #fold(slot: Bucket): void {
    if (slot.time < 0 || slot.requests === 0) return;
    this.#minute(Math.floor(slot.time / 60)).add(slot);
  }

  #minute(minute: number): Bucket {
    const slot = this.#minutes[minute % MINUTE_SLOTS]!;
    if (slot.time === minute) return slot;
    if (slot.time > minute) {
      this.#discard.reset(-1);
      return this.#discard;
    }
    slot.reset(minute);
    return slot;
  }
}
