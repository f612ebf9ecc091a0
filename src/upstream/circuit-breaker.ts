/**
 * circuitBreaker: a passive breaker per target, fed by every attempt's outcome (TargetState.record calls it
 * directly). Closed, it counts: `consecutiveFailures` failures in a row, or a `failureRatio` share failing
 * over at least `minRequests` requests within the sliding `window`, opens it. Open, the target gets no
 * traffic; once `openFor` has passed, the next pick that reaches the target makes it half-open, and then at
 * most `halfOpenRequests` real requests are in flight to it at once (probes): as many successes in a row
 * close it, one failure opens it again. Only outcomes listed in `failOn` are failures; a cancelled attempt
 * counts for nothing. Written here rather than taken from a library: the move to half-open has to happen on
 * a pick (a balancer that skips open targets never runs anything through the breaker).
 *
 * A breaker belongs to one process (each worker has its own). Its upstream's breakers form a group that
 * refuses to open one more when that would leave fewer than `100 - maxEjectedPercent` percent of the
 * targets closed: the breakers that would open last stay closed (Envoy's panic threshold).
 *
 * Per request, closed: one clock read (a coarse clock, see Clock), a bucket index, two increments. Nothing
 * is allocated.
 */
import { z } from 'zod';
import { duration } from '../fields/units.ts';
import type { AttemptOutcome } from './outcome.ts';

export const failOnValues = ['connect-failure', 'timeout', 'reset', 'bad-response', '5xx'] as const;
export type FailOn = (typeof failOnValues)[number];

export const circuitBreakerSchema = z.strictObject({
  consecutiveFailures: z.number().int().min(1).default(5).describe('Failures in a row that open the breaker.'),
  failureRatio: z.number().gt(0).max(1).default(0.5).describe('Or: this share of requests failing within `window` opens it (above 0, at most 1)...'),
  minRequests: z.number().int().min(1).default(20).describe('...once at least this many requests finished within `window`.'),
  window: duration().prefault('10s').describe('The sliding window `failureRatio` and `minRequests` count over (in tenths of it).'),
  openFor: duration().prefault('30s').describe('How long an open breaker keeps the target out; the next pick after it makes the breaker half-open.'),
  halfOpenRequests: z.number().int().min(1).default(3).describe('Probes (real requests) let through at once while half-open; this many successes close the breaker, one failure opens it again.'),
  failOn: z.array(z.enum(failOnValues)).min(1).default(['connect-failure', 'timeout', 'reset'])
    .describe('Outcomes that count as failures: connect-failure, timeout (connect, response or body), reset (also a body broken off), bad-response, 5xx. Add 5xx explicitly: a client that provokes 500s must not eject a target by default.'),
  maxEjectedPercent: z.number().min(0).max(100).default(50).describe('Never eject more than this share of the upstream\'s targets: a breaker that would leave fewer closed stays closed. With the default, a one-target upstream is never ejected.'),
}).describe('The breaker settings.');

export const circuitBreakerField = z.union([z.literal(false), circuitBreakerSchema]).prefault({})
  .describe('Passive circuit breaker per target, on with the defaults below; `false` turns it off.');

export type CircuitBreakerConfig = z.output<typeof circuitBreakerSchema>;

/** Milliseconds on a monotonic clock. A coarse one (a few ms stale) is enough: windows are seconds long. */
export interface Clock {
  now(): number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';
export type BreakerTransition = (state: BreakerState, why: string) => void;

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const BUCKETS = 10;

const FAIL_BITS: Record<FailOn, number> = { 'connect-failure': 1, timeout: 2, reset: 4, 'bad-response': 8, '5xx': 16 };
/** Each failing outcome's failOn class (response and cancelled are judged apart). */
const OUTCOME_BITS: Record<AttemptOutcome, number> = {
  response: 0, cancelled: 0,
  connect_failure: FAIL_BITS['connect-failure'],
  connect_timeout: FAIL_BITS.timeout, response_timeout: FAIL_BITS.timeout, body_timeout: FAIL_BITS.timeout,
  reset: FAIL_BITS.reset, body_error: FAIL_BITS.reset,
  bad_response: FAIL_BITS['bad-response'],
};

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 || ms % 1000 !== 0 ? `${ms}ms` : `${ms / 1000}s`;
}

export class CircuitBreaker {
  readonly config: CircuitBreakerConfig;
  group: BreakerGroup;
  readonly #clock: Clock;
  readonly #onTransition: BreakerTransition;
  readonly #failMask: number;
  readonly #fail5xx: boolean;
  readonly #bucketMs: number;
  readonly #total = new Uint32Array(BUCKETS);
  readonly #failed = new Uint32Array(BUCKETS);
  /** The current bucket: its number (time / bucket length), its slot in the ring, when it ends. */
  #bucket = -1;
  #slot = 0;
  #bucketEnd = -Infinity;
  #sumTotal = 0;
  #sumFailed = 0;
  #consecutive = 0;
  #state = CLOSED;
  #openedAt = 0;
  #probeSuccesses = 0;

  constructor(config: CircuitBreakerConfig, clock: Clock, onTransition: BreakerTransition = () => {}) {
    this.config = config;
    this.#clock = clock;
    this.#onTransition = onTransition;
    this.#failMask = config.failOn.reduce((mask, f) => mask | FAIL_BITS[f], 0);
    this.#fail5xx = config.failOn.includes('5xx');
    this.#bucketMs = Math.max(1, config.window / BUCKETS);
    this.group = new BreakerGroup([this]);
  }

  get state(): BreakerState {
    return STATE_NAMES[this.#state]!;
  }

  /** Not closed: open, or half-open (still out of the ordinary rotation). */
  get ejected(): boolean {
    return this.#state !== CLOSED;
  }

  /**
   * Whether a pick may choose the target now, given the attempts in flight to it. The first call after
   * `openFor` makes an open breaker half-open.
   */
  admits(inFlight: number): boolean {
    return this.#state === CLOSED || this.#admitsProbe(inFlight);
  }

  /** admits() without moving an open breaker to half-open (for reports, not picks). */
  wouldAdmit(inFlight: number): boolean {
    if (this.#state === OPEN) return this.#clock.now() >= this.#openedAt + this.config.openFor && inFlight < this.config.halfOpenRequests;
    return this.#state === CLOSED || inFlight < this.config.halfOpenRequests;
  }

  /** One finished attempt. */
  record(outcome: AttemptOutcome, status: number | undefined): void {
    let failed: boolean;
    if (outcome === 'response') failed = this.#fail5xx && status !== undefined && status >= 500;
    else if (outcome === 'cancelled') return;
    else failed = (this.#failMask & OUTCOME_BITS[outcome]) !== 0;
    if (this.#state !== CLOSED) return this.#recordProbe(failed);
    const now = this.#clock.now();
    if (now >= this.#bucketEnd) this.#rotate(now);
    const slot = this.#slot;
    this.#total[slot]!++;
    this.#sumTotal++;
    if (!failed) {
      this.#consecutive = 0;
      return;
    }
    this.#failed[slot]!++;
    this.#sumFailed++;
    const { consecutiveFailures, minRequests, failureRatio, window } = this.config;
    if (++this.#consecutive >= consecutiveFailures) this.#open(this.#consecutive === 1 ? 'after a failure' : `after ${this.#consecutive} consecutive failures`);
    else if (this.#sumTotal >= minRequests && this.#sumFailed >= failureRatio * this.#sumTotal) {
      this.#open(`after ${this.#sumFailed} of ${this.#sumTotal} requests failed within ${formatMs(window)}`);
    }
  }

  #admitsProbe(inFlight: number): boolean {
    if (this.#state === OPEN) {
      if (this.#clock.now() < this.#openedAt + this.config.openFor) return false;
      this.#state = HALF_OPEN;
      this.#probeSuccesses = 0;
      this.#onTransition('half-open', `after ${formatMs(this.config.openFor)} open`);
    }
    // Attempts still in flight from before it opened count too: never more than halfOpenRequests at once.
    return inFlight < this.config.halfOpenRequests;
  }

  #recordProbe(failed: boolean): void {
    // Open: an attempt that started before it opened says nothing new.
    if (this.#state !== HALF_OPEN) return;
    if (failed) {
      this.#state = OPEN;
      this.#openedAt = this.#clock.now();
      this.#onTransition('open', 'after a failed probe');
    } else if (++this.#probeSuccesses >= this.config.halfOpenRequests) {
      this.#state = CLOSED;
      this.#reset();
      this.#onTransition('closed', `after ${plural(this.#probeSuccesses, 'successful probe')}`);
    }
  }

  #open(why: string): void {
    // Refused by the group: stays closed, and the next failure asks again.
    if (!this.group.mayEject()) return;
    this.#state = OPEN;
    this.#openedAt = this.#clock.now();
    this.#reset();
    this.#onTransition('open', why);
  }

  #reset(): void {
    this.#total.fill(0);
    this.#failed.fill(0);
    this.#sumTotal = 0;
    this.#sumFailed = 0;
    this.#consecutive = 0;
    this.#bucket = -1;
    this.#bucketEnd = -Infinity;
  }

  /** Moves the window to the bucket of `now`, dropping the buckets that fell out of it. */
  #rotate(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    const steps = bucket - this.#bucket;
    if (this.#bucket < 0 || steps >= BUCKETS || steps < 0) {
      this.#total.fill(0);
      this.#failed.fill(0);
      this.#sumTotal = 0;
      this.#sumFailed = 0;
    } else {
      for (let i = 1; i <= steps; i++) {
        const slot = (this.#bucket + i) % BUCKETS;
        this.#sumTotal -= this.#total[slot]!;
        this.#sumFailed -= this.#failed[slot]!;
        this.#total[slot] = 0;
        this.#failed[slot] = 0;
      }
    }
    this.#bucket = bucket;
    this.#slot = bucket % BUCKETS;
    this.#bucketEnd = (bucket + 1) * this.#bucketMs;
  }
}

/** The breakers of one upstream's targets, which together may eject at most maxEjectedPercent of them. */
export class BreakerGroup {
  readonly #members: readonly CircuitBreaker[];

  constructor(members: readonly CircuitBreaker[]) {
    this.#members = members;
    for (const member of members) member.group = this;
  }

  /** Whether one more breaker may open: the targets left closed stay at least 100 - maxEjectedPercent percent. */
  mayEject(): boolean {
    const members = this.#members;
    if (members.length === 0) return false;
    let ejected = 0;
    for (const member of members) if (member.ejected) ejected++;
    const keep = 100 - members[0]!.config.maxEjectedPercent;
    return (members.length - ejected - 1) * 100 >= keep * members.length;
  }
}
