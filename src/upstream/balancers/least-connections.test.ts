import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLeastConnections, leastConnections } from './least-connections.ts';

interface TestTarget { id: string; weight: number; inFlight: number; available: boolean }

function targets(inFlight: Record<string, number>): TestTarget[] {
  return Object.entries(inFlight).map(([id, count]) => ({ id, weight: 1, inFlight: count, available: true }));
}

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Returns the given values in turn, then fails the test if asked for more. */
function scripted(...values: number[]): () => number {
  let index = 0;
  return () => {
    assert.ok(index < values.length, 'the balancer drew more random numbers than expected');
    return values[index++]!;
  };
}

function counts(pick: () => TestTarget | undefined, picks: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (let n = 0; n < picks; n++) {
    const id = String(pick()?.id);
    result[id] = (result[id] ?? 0) + 1;
  }
  return result;
}

describe('least-connections', () => {
  it('always picks the idle target of two', () => {
    const balancer = leastConnections(targets({ a: 10, b: 0 }));
    assert.deepEqual(counts(() => balancer.pick(), 1000), { b: 1000 });
  });

  it('picks the idle target every time it is one of the two sampled, and never the busiest', () => {
    // Pairs are drawn uniformly: b is in 2 of the 3 pairs, {a, c} goes to c, nothing goes to a.
    const balancer = createLeastConnections(seeded(1))(targets({ a: 10, b: 0, c: 5 }));
    const result = counts(() => balancer.pick(), 3000);
    assert.equal(result['a'], undefined);
    assert.ok(Math.abs((result['b'] ?? 0) - 2000) < 150, `b picked ${result['b']} times, expected about 2000`);
    assert.ok(Math.abs((result['c'] ?? 0) - 1000) < 150, `c picked ${result['c']} times, expected about 1000`);
  });

  it('compares exactly the two targets the random draws name', () => {
    const pool = targets({ a: 3, b: 1, c: 2, d: 0 });
    // 0.99 * 4 -> d (index 3); 0.5 * 3 -> 1, below 3 so b: d has fewer in flight.
    assert.equal(createLeastConnections(scripted(0.99, 0.5))(pool).pick()?.id, 'd');
    // 0 -> a; 0 -> index 0, which is a's, so shifted to b: b has fewer in flight than a.
    assert.equal(createLeastConnections(scripted(0, 0))(pool).pick()?.id, 'b');
    // 0.5 * 4 -> c; 0.99 * 3 -> 2, shifted past c to d.
    assert.equal(createLeastConnections(scripted(0.5, 0.99))(pool).pick()?.id, 'd');
  });

  it('breaks a tie in flight by the heavier weight, then by the first sampled', () => {
    const pool = targets({ a: 2, b: 2 });
    pool[1]!.weight = 3;
    assert.equal(createLeastConnections(scripted(0, 0))(pool).pick()?.id, 'b');
    pool[1]!.weight = 1;
    assert.equal(createLeastConnections(scripted(0.99, 0))(pool).pick()?.id, 'b');
    assert.equal(createLeastConnections(scripted(0, 0))(pool).pick()?.id, 'a');
  });

  it('spreads requests evenly over targets equally loaded', () => {
    const balancer = createLeastConnections(seeded(7))(targets({ a: 0, b: 0, c: 0, d: 0 }));
    const result = counts(() => balancer.pick(), 4000);
    for (const id of ['a', 'b', 'c', 'd']) {
      assert.ok(Math.abs((result[id] ?? 0) - 1000) < 150, `${id} picked ${result[id]} times, expected about 1000`);
    }
  });

  it('reads inFlight at pick time, so it follows the load as it changes', () => {
    const pool = targets({ a: 0, b: 5 });
    const balancer = leastConnections(pool);
    assert.equal(balancer.pick()?.id, 'a');
    pool[0]!.inFlight = 9;
    assert.equal(balancer.pick()?.id, 'b');
  });

  it('skips unavailable targets, even idle ones', () => {
    const pool = targets({ a: 0, b: 7, c: 3 });
    pool[0]!.available = false;
    const balancer = createLeastConnections(seeded(3))(pool);
    assert.deepEqual(counts(() => balancer.pick(), 200), { c: 200 });
  });

  it('picks the only available target without drawing a random number', () => {
    const pool = targets({ a: 0, b: 50 });
    pool[0]!.available = false;
    assert.equal(createLeastConnections(scripted())(pool).pick()?.id, 'b');
  });

  it('returns undefined when no target is available, and for an empty pool', () => {
    const pool = targets({ a: 0, b: 0 });
    for (const target of pool) target.available = false;
    assert.equal(leastConnections(pool).pick(), undefined);
    assert.equal(leastConnections([]).pick(), undefined);
  });
});
