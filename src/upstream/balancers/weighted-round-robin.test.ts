import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { weightedRoundRobin } from './weighted-round-robin.ts';

interface TestTarget { id: string; weight: number; inFlight: number; available: boolean }

function targets(weights: Record<string, number>): TestTarget[] {
  return Object.entries(weights).map(([id, weight]) => ({ id, weight, inFlight: 0, available: true }));
}

function picks(pick: () => TestTarget | undefined, count: number): (string | undefined)[] {
  return Array.from({ length: count }, () => pick()?.id);
}

function counts(ids: (string | undefined)[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const id of ids) result[String(id)] = (result[String(id)] ?? 0) + 1;
  return result;
}

describe('weighted-round-robin', () => {
  it('picks a a b a c a a for weights 5/1/1, as nginx documents, and repeats it', () => {
    const balancer = weightedRoundRobin(targets({ a: 5, b: 1, c: 1 }));
    const cycle = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
    assert.deepEqual(picks(() => balancer.pick(), 14), [...cycle, ...cycle]);
  });

  it('alternates targets of equal weight', () => {
    const balancer = weightedRoundRobin(targets({ a: 1, b: 1, c: 1 }));
    assert.deepEqual(picks(() => balancer.pick(), 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('gives each target exactly its share of every full cycle for weights 3/2/1', () => {
    const balancer = weightedRoundRobin(targets({ a: 3, b: 2, c: 1 }));
    assert.deepEqual(counts(picks(() => balancer.pick(), 600)), { a: 300, b: 200, c: 100 });
  });

  it('gives a weight-1 target 1 pick in 101 next to a weight-100 target, spread out, not in a burst', () => {
    const balancer = weightedRoundRobin(targets({ heavy: 100, light: 1 }));
    const sequence = picks(() => balancer.pick(), 202);
    assert.deepEqual(counts(sequence), { heavy: 200, light: 2 });
    const light = sequence.flatMap((id, index) => (id === 'light' ? [index] : []));
    assert.equal(light[1]! - light[0]!, 101);
  });

  it('skips an unavailable target and shares its traffic by the others\' weights', () => {
    const pool = targets({ a: 5, b: 1, c: 1 });
    pool[0]!.available = false;
    const balancer = weightedRoundRobin(pool);
    assert.deepEqual(picks(() => balancer.pick(), 4), ['b', 'c', 'b', 'c']);
  });

  it('leaves an unavailable target out of the total and its current weight as it was', () => {
    const pool = targets({ a: 5, b: 1, c: 1 });
    const balancer = weightedRoundRobin(pool);
    // Current weights after a, a: a -4, b 2, c 2.
    assert.deepEqual(picks(() => balancer.pick(), 2), ['a', 'a']);
    pool[1]!.available = false;
    // Over a and c only (total 6): a 1, c 3 -> c; a 6, c -3 -> a. Now a 0, b 2, c -2.
    assert.deepEqual(picks(() => balancer.pick(), 2), ['c', 'a']);
    pool[1]!.available = true;
    // b is back with the 2 it left with: a 5, b 3, c -1 -> a; a 3, b 4, c 0 -> b; then a three times.
    assert.deepEqual(picks(() => balancer.pick(), 5), ['a', 'b', 'a', 'a', 'a']);
  });

  it('gives a target that comes back no burst of catch-up picks', () => {
    const pool = targets({ a: 1, b: 1 });
    const balancer = weightedRoundRobin(pool);
    pool[1]!.available = false;
    assert.deepEqual(picks(() => balancer.pick(), 3), ['a', 'a', 'a']);
    pool[1]!.available = true;
    // Had b's current weight grown while it was away, it would come back picked b b a.
    assert.deepEqual(picks(() => balancer.pick(), 4), ['a', 'b', 'a', 'b']);
  });

  it('returns undefined when no target is available, and for an empty pool', () => {
    const pool = targets({ a: 2, b: 1 });
    for (const target of pool) target.available = false;
    assert.equal(weightedRoundRobin(pool).pick(), undefined);
    assert.equal(weightedRoundRobin([]).pick(), undefined);
  });
});
