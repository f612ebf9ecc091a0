import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, printAnalysis, type Run, type TargetName } from './report.ts';

function run(round: number, target: TargetName, cpuUs: number, over: Partial<Run> = {}): Run {
  const rps = over.rps ?? 20_000;
  return {
    round, target, rps, p50: 1, p99: 2, responses: rps * 4, seconds: 4, cpuUs, upstreamCpuUs: 14, otherLoadPct: 1,
    failures: {}, statusCodes: { 200: rps * 4 }, ...over,
  };
}

const targets: TargetName[] = ['direct', 'baseline', 'baseline-dispatch', 'gatehouse', 'gatehouse-edge'];

/** Runs per round from CPU figures per target; every target its own req/s, so a ratio against the wrong one shows. */
function rounds(cpu: Partial<Record<TargetName, number[]>>, over: Partial<Record<TargetName, Partial<Run>>> = {}): Run[] {
  const runs: Run[] = [];
  for (const [target, values] of Object.entries(cpu)) {
    values.forEach((v, i) => runs.push(run(i + 1, target as TargetName, v, over[target as TargetName])));
  }
  return runs;
}

const rps = { direct: { rps: 30_000 }, baseline: { rps: 21_000 }, 'baseline-dispatch': { rps: 24_000 }, gatehouse: { rps: 18_000 }, 'gatehouse-edge': { rps: 16_000 } };

describe('benchmark report', () => {
  // Per-round figures are chosen so each paired median differs from the ratio of medians and from the pairing
  // against the other baseline.
  it('judges Gatehouse against the cheaper baseline and reports the other ratio beside it', () => {
    const a = analyse(rounds({
      direct: [Number.NaN, Number.NaN, Number.NaN],
      baseline: [35, 34, 36],
      'baseline-dispatch': [30, 29, 31],
      gatehouse: [33, 36, 34],
      'gatehouse-edge': [39, 37, 38],
    }, rps), targets);
    assert.equal(a.yardstick, 'baseline-dispatch');
    assert.equal(a.ratios.cpuPerRequest, 34 / 30);
    assert.equal(a.ratios.cpuPerRequestByBaseline.baseline, 34 / 35);
    assert.deepEqual(a.ratios.cpuPerRequestByBaseline, { baseline: 34 / 35, 'baseline-dispatch': 34 / 30 });
    assert.equal(a.met, true);
    assert.equal(a.ratios.cpuPerRequestPairedMedian, 33 / 30);
    assert.deepEqual(a.ratios.cpuPerRequestPairedRange, [34 / 31, 36 / 29]);
    assert.equal(a.ratios.rps, 18_000 / 24_000);
    assert.equal(a.ratios.rpsVsDirect, 18_000 / 30_000);
    assert.equal(a.ratios.baselineRpsVsDirect, 24_000 / 30_000);
    assert.equal(a.ratios.edgeCpuPerRequest, 38 / 30);
    assert.deepEqual(a.ratios.edgeCpuPerRequestByBaseline, { baseline: 38 / 35, 'baseline-dispatch': 38 / 30 });
    assert.equal(a.ratios.edgeCpuPerRequestPairedMedian, 37 / 29);
    assert.equal(a.ratios.edgePolicyCpuUs, 4);
    assert.equal(a.edgeMet, true);
  });

  it('uses pool.stream when it is the cheaper one, and fails a target that is over its ratio', () => {
    const a = analyse(rounds({
      direct: [Number.NaN],
      baseline: [30],
      'baseline-dispatch': [32],
      gatehouse: [37],
      'gatehouse-edge': [40],
    }, rps), targets);
    assert.equal(a.yardstick, 'baseline');
    assert.equal(a.ratios.cpuPerRequest, 37 / 30);
    assert.equal(a.ratios.rps, 18_000 / 21_000);
    assert.equal(a.ratios.baselineRpsVsDirect, 21_000 / 30_000);
    assert.equal(a.ratios.edgeCpuPerRequestPairedMedian, 40 / 30);
    assert.equal(a.met, false);
    assert.equal(a.edgeMet, false);
  });

  it('uses pool.stream when the two baselines tie', () => {
    const a = analyse(rounds({ direct: [Number.NaN], baseline: [30], 'baseline-dispatch': [30], gatehouse: [33] }, rps),
      ['direct', 'baseline', 'baseline-dispatch', 'gatehouse']);
    assert.equal(a.yardstick, 'baseline');
    assert.equal(a.ratios.rps, 18_000 / 21_000);
  });

  it('falls back to the other baseline when one has no CPU figure', () => {
    const a = analyse(rounds({ direct: [Number.NaN], baseline: [Number.NaN], 'baseline-dispatch': [30], gatehouse: [33] }, rps),
      ['direct', 'baseline', 'baseline-dispatch', 'gatehouse']);
    assert.equal(a.yardstick, 'baseline-dispatch');
    assert.equal(a.met, true);
    const b = analyse(rounds({ direct: [Number.NaN], baseline: [30], 'baseline-dispatch': [Number.NaN], gatehouse: [33] }, rps),
      ['direct', 'baseline', 'baseline-dispatch', 'gatehouse']);
    assert.equal(b.yardstick, 'baseline');
    assert.equal(b.ratios.cpuPerRequest, 33 / 30);
    assert.equal(b.met, true);
  });

  it('leaves the verdicts unmeasured when neither baseline has a CPU figure', () => {
    const a = analyse(rounds({
      direct: [Number.NaN], baseline: [Number.NaN], 'baseline-dispatch': [Number.NaN], gatehouse: [33], 'gatehouse-edge': [36],
    }, rps), targets);
    assert.equal(a.yardstick, 'baseline');
    assert.ok(Number.isNaN(a.ratios.cpuPerRequest));
    assert.equal(a.met, undefined);
    assert.equal('edgeMet' in a, true);
    assert.equal(a.edgeMet, undefined);
    assert.equal(a.ratios.edgePolicyCpuUs, 3);
  });

  it('pairs only rounds in which both CPU figures are known', () => {
    const a = analyse(rounds({
      direct: [Number.NaN, Number.NaN, Number.NaN], baseline: [30, 31, 32], 'baseline-dispatch': [40, 40, 40], gatehouse: [33, Number.NaN, 34],
    }, rps), ['direct', 'baseline', 'baseline-dispatch', 'gatehouse']);
    assert.deepEqual(a.ratios.cpuPerRequestPairedRange, [34 / 32, 33 / 30]);
    assert.equal(a.ratios.cpuPerRequestPairedMedian, (33 / 30 + 34 / 32) / 2);
    assert.equal('edgeCpuPerRequest' in a.ratios, false);
    assert.equal('edgeMet' in a, false);
  });

  it('prints both verdicts, and warns of a noisy run when only the edge variant shared its core', (t) => {
    const log = t.mock.method(console, 'log', () => {});
    const a = analyse(rounds({
      direct: [Number.NaN], baseline: [30], 'baseline-dispatch': [32], gatehouse: [33], 'gatehouse-edge': [40],
    }, { ...rps, 'gatehouse-edge': { rps: 16_000, otherLoadPct: 25 } }), targets);
    printAnalysis(a, 1, 4, 50);
    const out = log.mock.calls.map((c) => String(c.arguments[0])).join('\n');
    assert.match(out, /Gatehouse \/ baseline CPU per request: 1\.100x .*target <= 1\.2x: MET; against baseline-dispatch 1\.031x/);
    assert.match(out, /request-size-limit \/ baseline CPU per request: 1\.333x .*target <= 1\.3x: NOT MET/);
    assert.match(out, /Warning: other work took a median 25% of the proxy core/);
  });

  it('prices each feature by the per-round paired difference with gatehouse, whichever way it is switched', () => {
    const withFeatures: TargetName[] = [...targets, 'gatehouse-nobreaker', 'gatehouse-ratelimit'];
    const runs = rounds({
      direct: [Number.NaN, Number.NaN, Number.NaN],
      baseline: [35, 34, 36],
      'baseline-dispatch': [30, 29, 31],
      gatehouse: [33, 36, 34],
      'gatehouse-edge': [39, 37, 38],
      'gatehouse-nobreaker': [32.5, 35, 34],
      'gatehouse-ratelimit': [35, 37, 34.5],
    }, { ...rps, 'gatehouse-ratelimit': { p50: 1.25 } });
    const a = analyse(runs, withFeatures, [
      { name: 'gatehouse-nobreaker', feature: 'circuit breaker', mode: 'off' },
      { name: 'gatehouse-ratelimit', feature: 'rate-limit', mode: 'on' },
      { name: 'gatehouse-ratelimit-redis', feature: 'not run', mode: 'on' },
    ]);
    assert.equal(a.coreMet, undefined, 'judged only when gatehouse-nometrics ran');
    assert.deepEqual(a.features.map((f) => [f.target, f.cpuUs, f.p50AddedMs, f.cpuPerRequest]), [
      ['gatehouse-nobreaker', 0.5, 0, 34 / 30], // 33-32.5, 36-35, 34-34
      ['gatehouse-ratelimit', 1, 0.25, 35 / 30], // 35-33, 37-36, 34.5-34
    ]);
  });

  it('judges the chain without metrics against the lifecycle\'s 1.15x when that variant ran', () => {
    const runs = rounds({ direct: [Number.NaN], baseline: [35], 'baseline-dispatch': [30], gatehouse: [35.5], 'gatehouse-nometrics': [34.8] }, rps);
    const names: TargetName[] = ['direct', 'baseline', 'baseline-dispatch', 'gatehouse', 'gatehouse-nometrics'];
    const a = analyse(runs, names, [{ name: 'gatehouse-nometrics', feature: 'metrics', mode: 'off' }]);
    assert.equal(a.met, true, '35.5 / 30 is within 1.2x');
    assert.equal(a.coreMet, false, '34.8 / 30 is over 1.15x');
  });
});
