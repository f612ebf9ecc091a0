/**
 * A JSON Web Key Set fetched from a URL and kept as a jose local key set. Unlike jose's createRemoteJWKSet it
 * never drops keys it has: the last good set is served for as long as the endpoint fails, while retries back
 * off exponentially (with jitter, capped). Keys are fresh for `cacheAge`; then a background refetch replaces
 * them. An unknown kid may ask for a refetch, at most one per `refetchInterval`, and concurrent askers share
 * the one fetch in flight. The first fetch starts at construction so keys are usually ready before the first
 * request. Every timer is unref'd and close() clears it and aborts a fetch in flight.
 *
 * One instance is shared by every jwt-auth policy that names the same URL and settings (SharedResources), so
 * routes and reloads do not multiply fetches.
 */
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Logger } from '../../observability/logger.ts';
import type { Closable } from '../../leases/shared-resources.ts';

export type KeySet = ReturnType<typeof createLocalJWKSet>;

/** A JWKS larger than this is refused (real ones are a few KiB). */
const MAX_JWKS_BYTES = 1024 * 1024;
const LONGEST_RETRY_MS = 5 * 60_000;

export interface JwksCacheOptions {
  readonly url: string;
  /** How long a fetched set is fresh (ms). */
  readonly cacheAge: number;
  /** Least time between two fetches asked for by unknown kids (ms). */
  readonly refetchInterval: number;
  /** Bound on one fetch, connection to last byte (ms). */
  readonly timeout: number;
  readonly log: Logger;
  /** Monotonic milliseconds, for the refetch rate limit (tests inject one); performance.now by default. */
  readonly now?: (() => number) | undefined;
}

/** The wait before retry number `failures` (1-based): doubles from `first`, never above `max`. */
export function retryDelay(failures: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

export class JwksCache implements Closable {
  readonly #options: JwksCacheOptions;
  readonly #now: () => number;
  readonly #firstRetry: number;
  readonly #maxRetry: number;
  #keys: KeySet | undefined = undefined;
  #inFlight: Promise<void> | undefined = undefined;
  #abort: AbortController | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #lastAttempt = -Infinity;
  #failures = 0;
  #closed = false;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? performance.now.bind(performance);
    // Retries start within a second (sooner when kid refetches may be sooner) and never wait longer than the
    // set would have stayed fresh, nor 5 minutes.
    this.#firstRetry = Math.min(1000, Math.max(100, options.refetchInterval));
    this.#maxRetry = Math.max(this.#firstRetry, Math.min(options.cacheAge, LONGEST_RETRY_MS));
    this.#start();
  }

  /** The last good key set; undefined until one loaded. */
  get keys(): KeySet | undefined {
    return this.#keys;
  }

  /**
   * Fetches again unless a fetch happened less than refetchInterval ago (a fetch in flight is joined), then
   * resolves to the key set held afterwards: the new one, or the last good one when the fetch failed.
   */
  async refetch(): Promise<KeySet | undefined> {
    if (!this.#inFlight && !this.#closed && this.#now() - this.#lastAttempt >= this.#options.refetchInterval) this.#start();
    if (this.#inFlight) await this.#inFlight;
    return this.#keys;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
    this.#keys = undefined;
  }

  #start(): void {
    this.#lastAttempt = this.#now();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#inFlight = this.#load().finally(() => {
      this.#inFlight = undefined;
    });
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#inFlight && !this.#closed) this.#start();
    }, delay);
    this.#timer.unref();
  }

  async #load(): Promise<void> {
    const { log, timeout, url } = this.#options;
    const abort = this.#abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(new Error(`timed out after ${timeout}ms`)), timeout);
    deadline.unref();
    try {
      const keys = createLocalJWKSet(await fetchKeySet(url, abort.signal));
      if (this.#closed) return;
      if (this.#failures > 0) log.info({ policy: 'jwt-auth', url, failures: this.#failures }, 'JWKS loaded again');
      this.#keys = keys;
      this.#failures = 0;
      this.#schedule(this.#options.cacheAge);
    } catch (error) {
      if (this.#closed) return;
      this.#failures++;
      // Jitter spreads the retries of many gateways after a shared outage.
      const delay = Math.round(retryDelay(this.#failures, this.#firstRetry, this.#maxRetry) * (0.8 + 0.2 * Math.random()));
      const detail = { policy: 'jwt-auth', url, error: describe(error, abort.signal), failures: this.#failures, retryInMs: delay };
      if (this.#keys) log.warn(detail, 'JWKS refetch failed; keeping the last good keys');
      else log.warn(detail, 'JWKS fetch failed; tokens for this issuer get 503 auth_keys_unavailable until keys load');
      this.#schedule(delay);
    } finally {
      clearTimeout(deadline);
      if (this.#abort === abort) this.#abort = undefined;
    }
  }
}

async function fetchKeySet(url: string, signal: AbortSignal): Promise<JSONWebKeySet> {
  const response = await fetch(url, { signal, headers: { accept: 'application/json, application/jwk-set+json' } });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_JWKS_BYTES) {
    await response.body?.cancel();
    throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
  }
  const body = await readBounded(response);
  const set = JSON.parse(body) as unknown;
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWKS (no "keys" array)');
  // An empty set is treated as a failure: serving it would refuse every token until the next fetch.
  if (keys.length === 0) throw new Error('JWKS has no keys');
  return set as JSONWebKeySet;
}

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > MAX_JWKS_BYTES) throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof cause === 'string') return cause;
  return error instanceof Error ? error.message : String(error);
}
