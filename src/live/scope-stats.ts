/**
 * One window of one scope (all traffic, a route or an upstream) as numbers people read: what the /events
 * `stats` event and the dashboard show. Rates are per second over the window; latencies are ms to the
 * response head; ratios are 0..1 of the window's requests.
 */
import { REASON_NAMES, STATUS_CLASSES, type Bucket } from './bucket.ts';
import type { WindowTotals } from './live-stats.ts';

export interface ScopeStats {
  readonly requests: number;
  readonly rps: number;
  /** ms; null without a latency in the window. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Requests by status class ("2xx", ...), only the classes seen. */
  readonly statusClasses: Readonly<Record<string, number>>;
  /** Requests by the gateway's reason, only the reasons seen. */
  readonly reasons: Readonly<Record<string, number>>;
  readonly errorRatio: number;
  readonly serverErrorRatio: number;
  /** Requests refused with rate_limited. */
  readonly rateLimited: number;
}

export interface WindowStats {
  readonly seconds: number;
  readonly overall: ScopeStats;
  readonly routes: Readonly<Record<string, ScopeStats>>;
  readonly upstreams: Readonly<Record<string, ScopeStats>>;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function scopeStats(bucket: Bucket, seconds: number): ScopeStats {
  const { requests, classes, latency } = bucket;
  const statusClasses: Record<string, number> = {};
  STATUS_CLASSES.forEach((name, i) => {
    if (classes[i]! > 0) statusClasses[name] = classes[i]!;
  });
  const reasons: Record<string, number> = {};
  bucket.reasons.forEach((count, i) => {
    if (count > 0) reasons[REASON_NAMES[i]!] = count;
  });
  const quantile = (q: number) => (latency.count === 0 ? null : round(latency.quantile(q)));
  return {
    requests, rps: round(requests / seconds), p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99), statusClasses, reasons,
    errorRatio: requests === 0 ? 0 : round((classes[3]! + classes[4]!) / requests, 4),
    serverErrorRatio: requests === 0 ? 0 : round(classes[4]! / requests, 4),
    rateLimited: bucket.reasonCount('rate_limited'),
  };
}

export function windowStats(totals: WindowTotals): WindowStats {
  const each = (map: ReadonlyMap<string, Bucket>) => Object.fromEntries([...map].map(([name, b]) => [name, scopeStats(b, totals.seconds)]));
  return { seconds: totals.seconds, overall: scopeStats(totals.overall, totals.seconds), routes: each(totals.routes), upstreams: each(totals.upstreams) };
}
