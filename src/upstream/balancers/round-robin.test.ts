import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roundRobin } from './round-robin.ts';

interface TestTarget { id: string; weight: number; inFlight: number; available: boolean }

function targets(...ids: string[]): TestTarget[] {
  return ids.map((id) => ({ id, weight: 1, inFlight: 0, available: true }));
}

function picks(pick: () => TestTarget | undefined, count: number): (string | undefined)[] {
  return Array.from({ length: count }, () => pick()?.id);
}

describe('round-robin', () => {
  it('hands requests to the targets in turn, starting with the first', () => {
    const balancer = roundRobin(targets('a', 'b', 'c'));
    assert.deepEqual(picks(() => balancer.pick(), 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('spreads many requests evenly, whatever the weights', () => {
    const pool = targets('a', 'b', 'c', 'd');
    pool[0]!.weight = 5;
    const balancer = roundRobin(pool);
    const counts = new Map<string | undefined, number>();
    for (const id of picks(() => balancer.pick(), 4000)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual([...counts.entries()].sort(), [['a', 1000], ['b', 1000], ['c', 1000], ['d', 1000]]);
  });

  it('skips an unavailable target and keeps rotating over the rest', () => {
    const pool = targets('a', 'b', 'c');
    pool[1]!.available = false;
    const balancer = roundRobin(pool);
    assert.deepEqual(picks(() => balancer.pick(), 4), ['a', 'c', 'a', 'c']);
  });

  it('takes a target back into the rotation as soon as it is available again', () => {
    const pool = targets('a', 'b', 'c');
    const balancer = roundRobin(pool);
    pool[1]!.available = false;
    assert.deepEqual(picks(() => balancer.pick(), 2), ['a', 'c']);
    pool[1]!.available = true;
    assert.deepEqual(picks(() => balancer.pick(), 3), ['a', 'b', 'c']);
  });

  it('returns undefined when no target is available, and recovers when one is', () => {
    const pool = targets('a', 'b');
    const balancer = roundRobin(pool);
    for (const target of pool) target.available = false;
    assert.equal(balancer.pick(), undefined);
    pool[1]!.available = true;
    assert.equal(balancer.pick()?.id, 'b');
  });

  it('returns undefined for an empty pool', () => {
    assert.equal(roundRobin([]).pick(), undefined);
  });

  it('ignores the hash key', () => {
    const balancer = roundRobin(targets('a', 'b'));
    assert.deepEqual([balancer.pick('k'), balancer.pick('k')].map((target) => target?.id), ['a', 'b']);
  });
});
