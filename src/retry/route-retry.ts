/**
 * retry: a route's retries of a failed upstream attempt. Another attempt follows only when
 *   - no byte has reached the client and the request body can be sent again (kept whole within `replayBody`);
 *   - the outcome is listed in `on`, for a method listed in `methods`; any other method (POST, PATCH) only
 *     after a connect failure, when the request provably never reached an upstream. An Idempotency-Key header
 *     changes nothing: a POST that timed out may already have run;
 *   - fewer than `attempts` attempts were made and the upstream's retry budget (retry-budget.ts) allows it;
 *   - the backoff (or a Retry-After within `backoff.max`) ends before the route's timeout.
 * Upgrades (WebSocket) are never retried. Outcomes, as `on` names them:
 *   connect-failure  refused, unreachable, TLS failed (upstream_connect_failure)
 *   reset            the connection closed before a response head (upstream_reset), and a head that was not
 *                    valid HTTP (upstream_bad_response): either way the request may have run
 *   timeout          upstream_connect_timeout, upstream_response_timeout, and `perTryTimeout`; never the
 *                    route's own timeout, which bounds the whole
 *   a status code    a response head with that status; its body is discarded unread
 * The proxy (proxy/forward.ts) asks; this unit answers from the config alone, plus the budget.
 */
import { z } from 'zod';
import { TOKEN } from '../fields/http-fields.ts';
import { duration, size } from '../fields/units.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { MAX_WINDOW_MS, type RetryBudget } from './retry-budget.ts';

const OUTCOMES = ['connect-failure', 'reset', 'timeout'] as const;
type RetryOutcome = (typeof OUTCOMES)[number];

/** Statuses worth another attempt: the server side failed or asked the client to come back later. */
const isRetryableStatus = (status: number): boolean => (status >= 500 && status <= 599) || status === 408 || status === 425 || status === 429;
const ON_MESSAGE = 'must be connect-failure, reset, timeout, or a status code (408, 425, 429, 500–599)';

const onEntry = z.union([
  z.enum(OUTCOMES),
  z.number().int().refine(isRetryableStatus, ON_MESSAGE),
], { error: ON_MESSAGE });

export const DEFAULT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];

export const retrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(10).default(3).describe('Attempts in all, the first included (1: no retries).'),
  on: z.array(onEntry).min(1).default(['connect-failure', 'reset', 'timeout', 502, 503, 504])
    .describe('Outcomes that are retried: connect-failure, reset (also a response that is not valid HTTP), timeout (connect, response, perTryTimeout) and status codes (408, 425, 429, 500–599).'),
  methods: z.array(z.string().regex(TOKEN, 'must be an HTTP method (a token)')).default(DEFAULT_METHODS)
    .describe('Methods retried on every outcome in `on`. Other methods (POST, PATCH) are retried only on connect-failure, when the request provably never reached an upstream.'),
  backoff: z.strictObject({
    base: duration().prefault('25ms').describe('Backoff before the first retry; it doubles with each retry (full jitter: a random wait up to it).'),
    max: duration().prefault('1s').describe('Longest backoff. A Retry-After within it is waited for instead; a longer one is not retried, and its answer goes to the client.'),
  }).refine((b) => b.max >= b.base, { message: 'max must be at least base', path: ['max'] }).prefault({})
    .describe('Wait between attempts: exponential from base, capped at max, with full jitter.'),
  perTryTimeout: duration().refine((ms) => ms > 0, 'must be more than 0').optional()
    .describe('Time each attempt has for its response head; expiry counts as a timeout (retried if `on` lists timeout). The route\'s timeout still bounds the whole. Default: only the upstream\'s and the route\'s timeouts.'),
  budget: z.strictObject({
    ratio: z.number().min(0).max(10).default(0.2).describe('Retries allowed per request in the window, on top of the floor (0.2: 20%).'),
    minPerSecond: z.number().min(0).default(10).describe('Retries per second always allowed, so a quiet upstream can still be retried.'),
    window: duration().refine((ms) => ms >= 1000 && ms <= MAX_WINDOW_MS, 'must be from 1s to 60s').prefault('10s').describe('Sliding window the requests and retries are counted over (1s to 60s).'),
  }).prefault({}).describe('The upstream\'s retry budget (per upstream and per worker, shared by the routes to it that retry): retries in the window ≤ minPerSecond × window seconds + ratio × requests in the window (the requests of those routes). A retry over it is not made; the last answer stands.'),
  replayBody: size().prefault('64KiB').describe('Request bodies up to this size are kept while they stream, so another attempt can send them again; a larger body is not retried (except after a connect failure that read none of it).'),
}).describe('Retries of a failed upstream attempt (docs/traffic-control.md#retries). Only while no byte has reached the client; never for upgrades.');

export type RetryConfig = z.output<typeof retrySchema>;

/** How an attempt that failed with `reason` counts for `on`, or undefined for a failure that is never retried. */
function outcomeOf(reason: Reason): RetryOutcome | undefined {
  switch (reason) {
    case 'upstream_connect_failure': return 'connect-failure';
    case 'upstream_reset':
    case 'upstream_bad_response': return 'reset';
    case 'upstream_connect_timeout':
    case 'upstream_response_timeout': return 'timeout';
    default: return undefined;
  }
}

/** A Retry-After value (delay-seconds or an HTTP-date) in ms from `nowMs` (Date.now()), or undefined. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; Date.parse alone would take "-1" for a year.
  const date = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The route's retry rules, built once per runtime; the budget is the upstream's, shared across reloads. */
export class RouteRetry {
  readonly keepBodyBytes: number;
  readonly perTryTimeout: number | undefined;
  readonly #config: RetryConfig;
  readonly #budget: RetryBudget;
  readonly #methods: ReadonlySet<string>;
  readonly #outcomes: ReadonlySet<RetryOutcome>;
  readonly #statuses: ReadonlySet<number>;
  readonly #random: () => number;

  constructor(config: RetryConfig, budget: RetryBudget, random: () => number = Math.random) {
    this.#config = config;
    this.#budget = budget;
    this.#random = random;
    this.keepBodyBytes = config.replayBody;
    this.perTryTimeout = config.perTryTimeout;
    this.#methods = new Set(config.methods);
    this.#outcomes = new Set(config.on.filter((o): o is RetryOutcome => typeof o === 'string'));
    this.#statuses = new Set(config.on.filter((o): o is number => typeof o === 'number'));
  }

  /** A request's first attempt, counted by the budget at its arrival. */
  counted(ex: Exchange): void {
    this.#budget.request(ex.start);
  }

  /** Whether a status is retried at all (before anything else is looked at: most answers are not). */
  retriesStatus(status: number): boolean {
    return this.#statuses.has(status);
  }

  /**
   * Whether another attempt may follow one that failed with a reason, or answered with a status that
   * retriesStatus() accepted, after `attempts` attempts. Asks nothing of the budget: takeBudget() does, last.
   */
  shouldRetry(ex: Exchange, failed: Reason | number, attempts: number): boolean {
    if (attempts >= this.#config.attempts) return false;
    if (typeof failed === 'number') return this.#methods.has(ex.method);
    const outcome = outcomeOf(failed);
    if (outcome === undefined || !this.#outcomes.has(outcome)) return false;
    return outcome === 'connect-failure' || this.#methods.has(ex.method);
  }

  /**
   * The wait before the next attempt, ms: full jitter over base × 2^(retry − 1), capped at max; or the
   * Retry-After, when one within max was given. -1: a Retry-After beyond max (the upstream asked for more
   * time than the route will wait: its answer stands).
   */
  backoff(attempts: number, retryAfter: number | undefined): number {
    const { base, max } = this.#config.backoff;
    if (retryAfter !== undefined) return retryAfter <= max ? retryAfter : -1;
    const ceiling = Math.min(max, base * 2 ** Math.min(attempts - 1, 30));
    return Math.floor(this.#random() * ceiling);
  }

  /** Takes one retry from the upstream's budget at `now`; false when the budget refuses it. */
  takeBudget(now: number): boolean {
    return this.#budget.tryRetry(now, this.#config.budget);
  }
}
