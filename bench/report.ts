/**
 * The benchmark's arithmetic and output: one line per run, medians per target across rounds, the
 * Gatehouse/baseline ratios the issue's target is judged on, and the machine-readable summary. There are two
 * baselines (undici's pool.stream and pool.dispatch); the targets are judged against the cheaper of the two
 * in the run, the yardstick, and the ratio against the other is printed beside it.
 */
import { median } from './load.ts';

/**
 * The default chain's budget (issue 13): Gatehouse as shipped, metrics and live statistics on, within 1.2×
 * the yardstick. Without them (the gatehouse-nometrics variant) the chain keeps the lifecycle's 1.15×
 * (issue 10), which the circuit breaker, on by default since traffic control, must fit inside.
 */
export const TARGET_CPU_RATIO = 1.2;
export const TARGET_CORE_CPU_RATIO = 1.15;
/** Above this median share of the proxy core taken by other work, the run is flagged as noisy. */
const NOISY_PCT = 10;

export type TargetName = 'direct' | 'baseline' | 'baseline-dispatch' | 'gatehouse' | 'gatehouse-edge' | 'gatehouse-nolog'
  | 'gatehouse-nometrics' | 'gatehouse-nobreaker' | 'gatehouse-ratelimit' | 'gatehouse-ratelimit-redis'
  | 'gatehouse-tracing' | 'gatehouse-tracing-sampled';
export type BaselineName = 'baseline' | 'baseline-dispatch';
const BASELINES: readonly BaselineName[] = ['baseline', 'baseline-dispatch'];

/** Issue 4's target for Gatehouse with jwt-auth (cached) + cors + request-size-limit on the route. */
export const TARGET_EDGE_CPU_RATIO = 1.3;

export interface Run {
  readonly round: number;
  readonly target: TargetName;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly responses: number;
  readonly seconds: number;
  /** The proxy's CPU µs per request (NaN for direct). */
  readonly cpuUs: number;
  /** The upstream's CPU µs per request. */
  readonly upstreamCpuUs: number;
  /** Share of the proxy core's time used by anything other than the measured proxy, % (NaN if unknown). */
  readonly otherLoadPct: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export interface Medians { rps: number; p50: number; p99: number; cpuUs: number; upstreamCpuUs: number; otherLoadPct: number; rounds: number }

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padStart(n);
const percent = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)}%` : 'n/a');
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(3)}x` : 'n/a');

export function runLine(run: Run, label: string): string {
  const failed = Object.keys(run.failures).length ? `  FAILURES ${JSON.stringify(run.failures)} status ${JSON.stringify(run.statusCodes)}` : '';
  return `${label.padEnd(10)} ${run.target.padEnd(17)} ${pad(fmt(run.rps, 0), 7)} req/s  p50 ${pad(fmt(run.p50, 2), 6)} ms  ` +
    `p99 ${pad(fmt(run.p99, 2), 6)} ms  proxy CPU ${pad(fmt(run.cpuUs), 6)} µs/req  upstream CPU ${pad(fmt(run.upstreamCpuUs), 5)} µs/req  ` +
    `other load on proxy core ${pad(percent(run.otherLoadPct), 4)}${failed}`;
}

function mediansOf(runs: readonly Run[], target: TargetName): Medians {
  const mine = runs.filter((r) => r.target === target);
  const m = (key: 'rps' | 'p50' | 'p99' | 'cpuUs' | 'upstreamCpuUs' | 'otherLoadPct') => median(mine.map((r) => r[key]));
  return {
    rps: m('rps'), p50: m('p50'), p99: m('p99'), cpuUs: m('cpuUs'), upstreamCpuUs: m('upstreamCpuUs'), otherLoadPct: m('otherLoadPct'),
    rounds: mine.length,
  };
}

/** a/b CPU per request within each round (the two ran back to back, on the same state of the machine). */
function pairedCpuRatios(runs: readonly Run[], a: TargetName, b: TargetName): number[] {
  const ratios: number[] = [];
  for (const round of new Set(runs.map((r) => r.round))) {
    const x = runs.find((r) => r.round === round && r.target === a);
    const y = runs.find((r) => r.round === round && r.target === b);
    if (x && y && Number.isFinite(x.cpuUs) && y.cpuUs > 0) ratios.push(x.cpuUs / y.cpuUs);
  }
  return ratios;
}

/** The cheaper baseline by median CPU per request (pool.stream when only it ran or they tie). */
function yardstickOf(medians: Partial<Record<TargetName, Medians>>): BaselineName {
  const stream = medians.baseline?.cpuUs ?? Number.NaN;
  const dispatch = medians['baseline-dispatch']?.cpuUs ?? Number.NaN;
  return Number.isFinite(dispatch) && !(stream <= dispatch) ? 'baseline-dispatch' : 'baseline';
}

/** a's median CPU per request over each baseline's that ran. */
function ratiosToBaselines(medians: Partial<Record<TargetName, Medians>>, a: Medians): Partial<Record<BaselineName, number>> {
  const out: Partial<Record<BaselineName, number>> = {};
  for (const b of BASELINES) if (medians[b]) out[b] = a.cpuUs / medians[b].cpuUs;
  return out;
}

export interface Analysis {
  readonly medians: Partial<Record<TargetName, Medians>>;
  /** The baseline the targets are judged against: the cheaper of the two in this run. */
  readonly yardstick: BaselineName;
  readonly ratios: {
    /** Gatehouse / yardstick, CPU per request. */
    readonly cpuPerRequest: number;
    /** Gatehouse / each baseline, CPU per request. */
    readonly cpuPerRequestByBaseline: Partial<Record<BaselineName, number>>;
    readonly cpuPerRequestPairedMedian: number;
    readonly cpuPerRequestPairedRange: number[];
    readonly rps: number;
    readonly rpsVsDirect: number;
    readonly baselineRpsVsDirect: number;
    readonly p50AddedMs: number;
    /** Gatehouse minus Gatehouse with the access log off, µs CPU per request (with --nolog-variant). */
    readonly accessLogCpuUs?: number;
    /** Gatehouse with the edge policies / yardstick, CPU per request. */
    readonly edgeCpuPerRequest?: number;
    readonly edgeCpuPerRequestByBaseline?: Partial<Record<BaselineName, number>>;
    readonly edgeCpuPerRequestPairedMedian?: number;
    /** What the edge policies add, µs CPU per request (gatehouse-edge - gatehouse). */
    readonly edgePolicyCpuUs?: number;
  };
  /** What each switched feature costs (bench/variants.ts). */
  readonly features: readonly FeatureCost[];
  readonly met: boolean | undefined;
  /** Without metrics and live stats (gatehouse-nometrics) within TARGET_CORE_CPU_RATIO; undefined when that variant did not run. */
  readonly coreMet?: boolean | undefined;
  readonly edgeMet?: boolean | undefined;
}

/** A feature variant as the report needs it. */
export interface FeatureSwitch {
  readonly name: TargetName;
  readonly feature: string;
  /** 'off': the variant runs without the feature; 'on': with it. */
  readonly mode: 'on' | 'off';
}

export interface FeatureCost {
  readonly target: TargetName;
  readonly feature: string;
  /** µs CPU per request the feature adds: the median over rounds of the paired difference with gatehouse. */
  readonly cpuUs: number;
  /** p50 latency the feature adds, ms (difference of medians). */
  readonly p50AddedMs: number;
  /** The variant's CPU per request over the yardstick's. */
  readonly cpuPerRequest: number;
}

/** (with the feature - without it) CPU per request within each round. */
function pairedCpuDiffs(runs: readonly Run[], withIt: TargetName, without: TargetName): number[] {
  const diffs: number[] = [];
  for (const round of new Set(runs.map((r) => r.round))) {
    const x = runs.find((r) => r.round === round && r.target === withIt);
    const y = runs.find((r) => r.round === round && r.target === without);
    if (x && y && Number.isFinite(x.cpuUs) && Number.isFinite(y.cpuUs)) diffs.push(x.cpuUs - y.cpuUs);
  }
  return diffs;
}

function featureCost(runs: readonly Run[], medians: Partial<Record<TargetName, Medians>>, yardstick: Medians, f: FeatureSwitch): FeatureCost {
  const [withIt, without] = f.mode === 'on' ? [f.name, 'gatehouse' as const] : ['gatehouse' as const, f.name];
  return {
    target: f.name, feature: f.feature,
    cpuUs: median(pairedCpuDiffs(runs, withIt, without)),
    p50AddedMs: (medians[withIt]?.p50 ?? Number.NaN) - (medians[without]?.p50 ?? Number.NaN),
    cpuPerRequest: (medians[f.name]?.cpuUs ?? Number.NaN) / yardstick.cpuUs,
  };
}

/** Whether `ratio` is within `max`; undefined when it could not be measured. */
const verdict = (ratio: number, max: number): boolean | undefined => (Number.isFinite(ratio) ? ratio <= max : undefined);

export function analyse(runs: readonly Run[], targets: readonly TargetName[], switches: readonly FeatureSwitch[] = []): Analysis {
  const medians: Partial<Record<TargetName, Medians>> = {};
  for (const t of targets) medians[t] = mediansOf(runs, t);
  const d = medians.direct!;
  const yardstick = yardstickOf(medians);
  const b = medians[yardstick]!;
  const g = medians.gatehouse!;
  const paired = pairedCpuRatios(runs, 'gatehouse', yardstick);
  const cpuPerRequest = g.cpuUs / b.cpuUs;
  const nolog = medians['gatehouse-nolog'];
  const edge = medians['gatehouse-edge'];
  const edgeRatios = edge ? {
    edgeCpuPerRequest: edge.cpuUs / b.cpuUs,
    edgeCpuPerRequestByBaseline: ratiosToBaselines(medians, edge),
    edgeCpuPerRequestPairedMedian: median(pairedCpuRatios(runs, 'gatehouse-edge', yardstick)),
    edgePolicyCpuUs: edge.cpuUs - g.cpuUs,
  } : undefined;
  return {
    medians,
    yardstick,
    ratios: {
      cpuPerRequest,
      cpuPerRequestByBaseline: ratiosToBaselines(medians, g),
      cpuPerRequestPairedMedian: median(paired),
      cpuPerRequestPairedRange: paired.length ? [Math.min(...paired), Math.max(...paired)] : [],
      rps: g.rps / b.rps,
      rpsVsDirect: g.rps / d.rps,
      baselineRpsVsDirect: b.rps / d.rps,
      p50AddedMs: g.p50 - d.p50,
      ...(nolog ? { accessLogCpuUs: g.cpuUs - nolog.cpuUs } : {}),
      ...edgeRatios,
    },
    features: switches.filter((f) => targets.includes(f.name)).map((f) => featureCost(runs, medians, b, f)),
    met: verdict(cpuPerRequest, TARGET_CPU_RATIO),
    ...(medians['gatehouse-nometrics'] ? { coreMet: verdict(medians['gatehouse-nometrics'].cpuUs / b.cpuUs, TARGET_CORE_CPU_RATIO) } : {}),
    ...(edgeRatios ? { edgeMet: verdict(edgeRatios.edgeCpuPerRequest, TARGET_EDGE_CPU_RATIO) } : {}),
  };
}

const verdictText = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'MET' : 'NOT MET');

export function printAnalysis(a: Analysis, rounds: number, seconds: number, connections: number): void {
  const r = a.ratios;
  console.log(`\nMedians over ${rounds} rounds (${seconds} s each, ${connections} connections):`);
  console.log(`${'target'.padEnd(17)} ${pad('req/s', 7)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('proxy CPU µs/req', 17)} ` +
    `${pad('upstream CPU µs/req', 20)} ${pad('other load on proxy core', 25)}`);
  for (const [name, m] of Object.entries(a.medians)) {
    console.log(`${name.padEnd(17)} ${pad(fmt(m.rps, 0), 7)} ${pad(fmt(m.p50, 2), 7)} ${pad(fmt(m.p99, 2), 7)} ${pad(fmt(m.cpuUs), 17)} ` +
      `${pad(fmt(m.upstreamCpuUs), 20)} ${pad(percent(m.otherLoadPct), 25)}`);
  }
  const y = a.yardstick;
  const others = (byBaseline: Partial<Record<BaselineName, number>> | undefined) => BASELINES.filter((b) => b !== y && byBaseline?.[b] !== undefined)
    .map((b) => `; against ${b} ${times(byBaseline![b]!)}`).join('');
  console.log(`\nYardstick: ${y}, the cheaper baseline in this run (${BASELINES.map((b) => `${b} ${fmt(a.medians[b]?.cpuUs ?? Number.NaN)} µs/req`).join(', ')})`);
  console.log(`Gatehouse / ${y} CPU per request: ${times(r.cpuPerRequest)} (per-round paired median ${times(r.cpuPerRequestPairedMedian)}, ` +
    `range ${r.cpuPerRequestPairedRange.map(times).join(' to ') || 'n/a'}); target <= ${TARGET_CPU_RATIO}x: ${verdictText(a.met)}${others(r.cpuPerRequestByBaseline)}`);
  console.log(`Gatehouse / ${y} req/s: ${times(r.rps)}; Gatehouse / direct req/s: ${times(r.rpsVsDirect)} ` +
    `(${y} / direct ${times(r.baselineRpsVsDirect)}); Gatehouse p50 vs direct: +${fmt(r.p50AddedMs, 2)} ms`);
  const shared = Math.max(...([y, 'gatehouse', 'gatehouse-edge'] as const).map((t) => a.medians[t]?.otherLoadPct ?? 0));
  if (shared > NOISY_PCT) {
    console.log(`Warning: other work took a median ${shared.toFixed(0)}% of the proxy core during the proxy runs; ` +
      'CPU per request is inflated by contention. Prefer a quieter machine for figures you record.');
  }
  if (r.edgeCpuPerRequest !== undefined) {
    console.log(`Gatehouse + jwt-auth (cached) + cors + request-size-limit / ${y} CPU per request: ${times(r.edgeCpuPerRequest)} ` +
      `(paired median ${times(r.edgeCpuPerRequestPairedMedian ?? Number.NaN)}); target <= ${TARGET_EDGE_CPU_RATIO}x: ${verdictText(a.edgeMet)}${others(r.edgeCpuPerRequestByBaseline)}; ` +
      `the policies add ${fmt(r.edgePolicyCpuUs ?? Number.NaN)} µs per request`);
  }
  if (r.accessLogCpuUs !== undefined) console.log(`Access log cost (gatehouse - gatehouse-nolog): ${fmt(r.accessLogCpuUs)} µs CPU per request`);
  if (a.features.length) console.log('\nWhat each feature costs (median of per-round paired differences with gatehouse):');
  const core = a.features.find((f) => f.target === 'gatehouse-nometrics');
  if (core) {
    console.log(`  the chain without metrics and live stats (gatehouse-nometrics) / ${a.yardstick}: ${times(core.cpuPerRequest)}; target <= ${TARGET_CORE_CPU_RATIO}x: ${verdictText(a.coreMet)}`);
  }
  for (const f of a.features) {
    console.log(`  ${f.feature.padEnd(34)} ${pad(fmt(f.cpuUs, 2), 6)} µs CPU per request, p50 ${f.p50AddedMs >= 0 ? '+' : ''}${fmt(f.p50AddedMs, 3)} ms  ` +
      `(${f.target} / ${a.yardstick} CPU per request: ${times(f.cpuPerRequest)})`);
  }
}
