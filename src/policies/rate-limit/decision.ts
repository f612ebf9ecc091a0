/**
 * From a store's answer to what the client is told: admitted or 429 with Retry-After, and which limit the
 * RateLimit headers name (the one closest to refusing). The values go on the Exchange as three numbers, so
 * an admitted request allocates nothing here; the response phase writes the headers
 * (draft-ietf-httpapi-ratelimit-headers structured fields):
 *
 *   RateLimit-Policy: "per-client";q=100;w=60     (quota per window, window in seconds)
 *   RateLimit: "per-client";r=37;t=12             (tokens left, seconds until the bucket is full again)
 */
import type { Exchange } from '../../pipeline/exchange.ts';
import { TOLERANCE } from './bucket-store.ts';

/** One limit as the policy runs it (times in ms). */
export interface CompiledLimit {
  readonly name: string;
  readonly limit: number;
  readonly window: number;
  readonly burst: number;
  /** Time one token takes to come back: window / limit. */
  readonly interval: number;
  /** burst × interval: how far ahead of now a bucket's TAT may be. */
  readonly capacity: number;
  /** The RateLimit-Policy value. */
  readonly policyValue: string;
  /** The RateLimit value up to the remaining count: `"name";r=`. */
  readonly statePrefix: string;
}

export function policyValue(name: string, limit: number, windowMs: number): string {
  return `"${name}";q=${limit};w=${Math.max(1, Math.ceil(windowMs / 1000))}`;
}

/**
 * Records on `ex` the limit closest to refusing after an admitted request: the fewest tokens left, and
 * of those the one that takes longest to refill. occupancy[i] is how long bucket i needs to be full again.
 */
export function noteAdmitted(ex: Exchange, interval: Float64Array, capacity: Float64Array, occupancy: Float64Array, count: number): void {
  let best = 0;
  let bestLeft = Infinity;
  for (let i = 0; i < count; i++) {
    const left = Math.floor((capacity[i]! - occupancy[i]!) / interval[i]! + TOLERANCE);
    if (left < bestLeft || (left === bestLeft && occupancy[i]! > occupancy[best]!)) {
      best = i;
      bestLeft = left;
    }
  }
  ex.rateLimitIndex = best;
  ex.rateLimitRemaining = bestLeft < 0 ? 0 : bestLeft;
  ex.rateLimitReset = Math.ceil(occupancy[best]! / 1000);
}

/**
 * Records on `ex` the refusing limit that makes the client wait longest, and returns that wait in whole
 * seconds, rounded up (Retry-After). occupancy[i] is the bucket's state before the request: nothing was taken.
 */
export function noteRefused(ex: Exchange, interval: Float64Array, capacity: Float64Array, occupancy: Float64Array, count: number): number {
  let best = 0;
  let longest = -Infinity;
  for (let i = 0; i < count; i++) {
    const wait = occupancy[i]! + interval[i]! - capacity[i]!;
    if (wait > longest) {
      best = i;
      longest = wait;
    }
  }
  ex.rateLimitIndex = best;
  ex.rateLimitRemaining = 0;
  ex.rateLimitReset = Math.ceil(occupancy[best]! / 1000);
  return Math.max(1, Math.ceil(longest / 1000));
}
