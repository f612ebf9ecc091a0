/**
 * A rule's signal read from one window of the live statistics (and, for available-targets, from the merged
 * target snapshot), and the observation it makes for the rule's state machine. Latencies and ratios need
 * minRequests requests in the window (fewer: `insufficient`, none: `nodata`); rps and available-targets always
 * have a value, so a rule on traffic stopping (rps below 1) or targets going away can fire.
 */
import { isLatencySignal, isRatioSignal, ruleThreshold, type AlertRuleConfig, type AlertSignal } from '../config/alerts-schema.ts';
import { Bucket } from '../live/bucket.ts';
import type { WindowTotals } from '../live/live-stats.ts';
import type { TargetSnapshot } from '../runtime/snapshot.ts';
import type { Observation } from './rule-state.ts';

const EMPTY = new Bucket();
const QUANTILES: Partial<Record<AlertSignal, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };

export interface Reading {
  readonly seen: Observation;
  /** The signal's value (ms for latencies, 0..1 for ratios); null when there was too little data. */
  readonly value: number | null;
}

/** The bucket a rule reads: its route's, its upstream's, or all traffic. */
export function scopeOf(rule: AlertRuleConfig, totals: WindowTotals): Bucket {
  if (rule.route !== undefined) return totals.routes.get(rule.route) ?? EMPTY;
  if (rule.upstream !== undefined) return totals.upstreams.get(rule.upstream) ?? EMPTY;
  return totals.overall;
}

/**
 * `upstreamOf`: the upstream of each route (for available-targets on a route's rule).
 */
export function readSignal(rule: AlertRuleConfig, totals: WindowTotals, targets: readonly TargetSnapshot[], upstreamOf: ReadonlyMap<string, string>): Reading {
  const { op, value: threshold } = ruleThreshold(rule);
  const value = signalValue(rule, totals, targets, upstreamOf);
  if (typeof value === 'string') return { seen: value, value: null };
  const holds = op === 'above' ? value > threshold : value < threshold;
  return { seen: holds ? 'holds' : 'clear', value };
}

function signalValue(rule: AlertRuleConfig, totals: WindowTotals, targets: readonly TargetSnapshot[], upstreamOf: ReadonlyMap<string, string>): number | 'insufficient' | 'nodata' {
  const { signal } = rule;
  if (signal === 'available-targets') {
    const upstream = rule.upstream ?? (rule.route !== undefined ? upstreamOf.get(rule.route) : undefined);
    return targets.filter((t) => t.available && (upstream === undefined || t.upstream === upstream)).length;
  }
  const scope = scopeOf(rule, totals);
  if (signal === 'rps') return scope.requests / totals.seconds;
  const counted = isLatencySignal(signal) ? scope.latency.count : scope.requests;
  if (counted === 0) return 'nodata';
  if (counted < rule.minRequests) return 'insufficient';
  if (isLatencySignal(signal)) return scope.latency.quantile(QUANTILES[signal]!);
  if (!isRatioSignal(signal)) return 0;
  const { classes } = scope;
  if (signal === 'error-ratio') return (classes[3]! + classes[4]!) / scope.requests;
  if (signal === '5xx-ratio') return classes[4]! / scope.requests;
  return scope.reasonCount('rate_limited') / scope.requests;
}

/** A value as people read it: "612ms", "5.2%", "12.5/s", "2". */
export function formatValue(signal: AlertSignal, value: number | null): string {
  if (value === null) return 'n/a';
  if (isLatencySignal(signal)) return `${value < 10 ? value.toFixed(1) : Math.round(value)}ms`;
  if (isRatioSignal(signal)) return `${(value * 100).toFixed(1)}%`;
  if (signal === 'rps') return `${value.toFixed(1)}/s`;
  return String(value);
}
