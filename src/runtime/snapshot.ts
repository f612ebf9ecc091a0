/**
 * What one process's gateway reports about its traffic and targets, and how the primary merges the reports
 * of N workers into one of the same shape. The admin listener reads this shape whether 1 or N workers serve,
 * so a reader never needs to know how many processes there are.
 *
 * Counters are totals since the process started (a worker replaced after a crash starts again from zero, so
 * merged totals can step down: readers that compute rates must treat a decrease as a restart).
 */

export type BreakerSnapshot = 'closed' | 'open' | 'half-open' | 'off';

const BREAKER_SEVERITY: Readonly<Record<BreakerSnapshot, number>> = { off: 0, closed: 1, 'half-open': 2, open: 3 };

export interface TargetSnapshot {
  readonly upstream: string;
  readonly url: string;
  /** Attempts in flight to this target now (upgraded connections included). */
  readonly inFlight: number;
  /** False while the target must not get traffic (health checks, breakers). */
  readonly available: boolean;
  /** What active health checks say (true with no checks); false when any worker has it down. */
  readonly healthy: boolean;
  /**
   * This process's circuit breaker for the target ('off' when the upstream turned breakers off). Merged, the
   * most severe of the workers' (open, then half-open, then closed): each worker has its own breaker.
   */
  readonly breaker: BreakerSnapshot;
  /** Attempts finished, and how many of them failed (no usable response). */
  readonly attempts: number;
  readonly failures: number;
  /** Exponentially weighted moving average of time to response headers, ms; null before any response. */
  readonly latencyEwmaMs: number | null;
}

export interface GatewaySnapshot {
  /** Processes merged into this snapshot (1 without workers). */
  readonly workers: number;
  /** Requests finished since start. */
  readonly requests: number;
  /** Requests in flight now. */
  readonly inFlight: number;
  /** Finished requests by status class ("2xx", ...; "4xx" includes 499). */
  readonly statusClasses: Readonly<Record<string, number>>;
  /** Finished requests by reason (only those the gateway answered or logged with a reason). */
  readonly reasons: Readonly<Record<string, number>>;
  readonly targets: readonly TargetSnapshot[];
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

/**
 * One snapshot from several: counts and in-flight summed; a target is available if any worker may send it
 * traffic, healthy only if every worker has it healthy (they hear of a change at slightly different times),
 * and its breaker the most severe state among the workers'; its EWMA is the attempt-weighted mean of the
 * workers' EWMAs.
 */
export function mergeSnapshots(parts: readonly GatewaySnapshot[]): GatewaySnapshot {
  const statusClasses: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  const targets = new Map<string, { snapshot: TargetSnapshot; weighted: number; weight: number }>();
  let requests = 0;
  let inFlight = 0;
  let workers = 0;
  for (const part of parts) {
    workers += part.workers;
    requests += part.requests;
    inFlight += part.inFlight;
    addCounts(statusClasses, part.statusClasses);
    addCounts(reasons, part.reasons);
    for (const t of part.targets) mergeTarget(targets, t);
  }
  const merged = [...targets.values()].map(({ snapshot, weighted, weight }) => ({ ...snapshot, latencyEwmaMs: weight > 0 ? weighted / weight : null }));
  return { workers, requests, inFlight, statusClasses, reasons, targets: merged };
}

function mergeTarget(targets: Map<string, { snapshot: TargetSnapshot; weighted: number; weight: number }>, t: TargetSnapshot): void {
  const key = `${t.upstream} ${t.url}`;
  // Weighted by attempts, but at least 1 so a target with an EWMA and few attempts still counts.
  const weight = t.latencyEwmaMs === null ? 0 : Math.max(1, t.attempts);
  const seen = targets.get(key);
  if (!seen) {
    targets.set(key, { snapshot: t, weighted: (t.latencyEwmaMs ?? 0) * weight, weight });
    return;
  }
  const s = seen.snapshot;
  seen.snapshot = {
    ...s, inFlight: s.inFlight + t.inFlight, available: s.available || t.available, healthy: s.healthy && t.healthy,
    breaker: BREAKER_SEVERITY[t.breaker] > BREAKER_SEVERITY[s.breaker] ? t.breaker : s.breaker, attempts: s.attempts + t.attempts, failures: s.failures + t.failures,
  };
  seen.weighted += (t.latencyEwmaMs ?? 0) * weight;
  seen.weight += weight;
}
