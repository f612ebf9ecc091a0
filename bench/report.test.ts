import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, type Run, type TargetName } from './report.ts';

function run(round: number, target: TargetName, cpuUs: number, rps = 20_000): Run {
  return {
    round, target, rps, p50: 1, p99: 2, responses: rps * 4, seconds: 4, cpuUs, upstreamCpuUs: 14, otherLoadPct: 1,
    failures: {}, statusCodes: { 200: rps * 4 },
  };
}

const targets: TargetName[] = ['direct', 'baseline', 'baseline-dispatch', 'gatehouse', 'gatehouse-edge'];

function rounds(cpu: Partial<Record<TargetName, number[]>>): Run[] {
  const runs: Run[] = [];
  for (const [target, values] of Object.entries(cpu)) values.forEach((v, i) => runs.push(run(i + 1, target as TargetName, v)));
  return runs;
}

describe('benchmark report', () => {
  it('judges Gatehouse against the cheaper baseline and reports the other ratio beside it', () => {
    const a = analyse(rounds({
      direct: [Number.NaN, Number.NaN, Number.NaN],
      baseline: [35, 34, 36],
      'baseline-dispatch': [30, 29, 31],
      gatehouse: [34, 33, 35],
      'gatehouse-edge': [38, 37, 39],
    }), targets);
    assert.equal(a.yardstick, 'baseline-dispatch');
    assert.equal(a.ratios.cpuPerRequest, 34 / 30);
    assert.equal(a.ratios.cpuPerRequestByBaseline.baseline, 34 / 35);
    assert.equal(a.met, true);
    assert.equal(a.ratios.edgeCpuPerRequest, 38 / 30);
    assert.equal(a.edgeMet, true);
    assert.deepEqual(a.ratios.cpuPerRequestPairedRange, [33 / 29, 35 / 31].sort((x, y) => x - y));
  });

  it('uses pool.stream when it is the cheaper one, and fails a target that is over its ratio', () => {
    const a = analyse(rounds({
      direct: [Number.NaN],
      baseline: [30],
      'baseline-dispatch': [32],
      gatehouse: [35],
      'gatehouse-edge': [40],
    }), targets);
    assert.equal(a.yardstick, 'baseline');
    assert.equal(a.ratios.cpuPerRequest, 35 / 30);
    assert.equal(a.met, false);
    assert.equal(a.edgeMet, false);
  });

  it('falls back to the other baseline when one has no CPU figure', () => {
    const a = analyse(rounds({ direct: [Number.NaN], baseline: [Number.NaN], 'baseline-dispatch': [30], gatehouse: [33] }),
      ['direct', 'baseline', 'baseline-dispatch', 'gatehouse']);
    assert.equal(a.yardstick, 'baseline-dispatch');
    assert.equal(a.met, true);
  });
});
