import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHashRing, hashKey } from './hash-ring.ts';

interface TestTarget { id: string; weight: number; inFlight: number; available: boolean }

function targets(count: number, weight = 1): TestTarget[] {
  return Array.from({ length: count }, (_, n) => ({ id: `http://10.0.0.${n + 1}:7001`, weight, inFlight: 0, available: true }));
}

/** Ketama's points, derived independently of the ring: md5 of `${id}-${n}`, four little-endian words each. */
function ketamaPoints(id: string, weight: number): number[] {
  return Array.from({ length: 40 * weight }, (_, n) => {
    const digest = hash('md5', `${id}-${n}`, 'buffer');
    return [0, 4, 8, 12].map((offset) => digest.readUInt32LE(offset));
  }).flat();
}

const keys = Array.from({ length: 10_000 }, (_, n) => `user-${n}`);

function mapKeys(pool: readonly TestTarget[]): (string | undefined)[] {
  const ring = createHashRing(pool);
  return keys.map((key) => ring.lookup(key)?.id);
}

function shares(mapped: (string | undefined)[]): Map<string | undefined, number> {
  const result = new Map<string | undefined, number>();
  for (const id of mapped) result.set(id, (result.get(id) ?? 0) + 1);
  return result;
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * tolerance, `${what}: ${actual}, expected ${expected} ±${tolerance * 100}%`);
}

describe('hashKey', () => {
  it('returns the same unsigned 32-bit value for the same key', () => {
    for (const key of ['', 'a', 'user-42', 'ключ-ü-🔑']) {
      const value = hashKey(key);
      assert.equal(value, hashKey(key));
      assert.ok(Number.isInteger(value) && value >= 0 && value < 2 ** 32, `${key} -> ${value}`);
    }
  });

  it('spreads keys that differ only in their last characters over the whole range', () => {
    const buckets = new Array<number>(16).fill(0);
    for (const key of keys) {
      const bucket = Math.floor(hashKey(key) / 2 ** 28);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    buckets.forEach((count, bucket) => assertNear(count, keys.length / 16, 0.15, `bucket ${bucket}`));
  });
});

describe('createHashRing', () => {
  it('places 160 points per unit of weight', () => {
    const pool = targets(3);
    pool[2]!.weight = 4;
    assert.equal(createHashRing(pool).size, 160 * 6);
  });

  it('sends a key to the target owning the first ketama point at or after its hash, wrapping past the top', () => {
    const pool = targets(3);
    pool[1]!.weight = 2;
    const points = pool.flatMap((target) => ketamaPoints(target.id, target.weight).map((at) => ({ at, id: target.id })));
    points.sort((a, b) => a.at - b.at);
    const ring = createHashRing(pool);
    for (const key of keys.slice(0, 2000)) {
      const expected = (points.find((point) => point.at >= hashKey(key)) ?? points[0])?.id;
      assert.equal(ring.lookup(key)?.id, expected, key);
    }
    const wrapping = keys.find((key) => hashKey(key) > points.at(-1)!.at);
    assert.ok(wrapping !== undefined, 'no key hashes past the last point');
    assert.equal(ring.lookup(wrapping)?.id, points[0]?.id);
  });

  it('maps every key to the same target across two independent builds, whatever the targets\' order', () => {
    const first = mapKeys(targets(5));
    const rebuilt = mapKeys(targets(5).reverse());
    assert.deepEqual(rebuilt, first);
    assert.equal(shares(first).size, 5);
  });

  it('breaks a tie between two targets\' points by id, not by the targets\' order', () => {
    // At weight 1000 these two ids share several 32-bit points.
    const [low, high] = ['http://x:1', 'http://y:1'];
    const highPoints = new Set(ketamaPoints(high!, 1000));
    const all = [...ketamaPoints(low!, 1000), ...highPoints].sort((a, b) => a - b);
    // The first of a run of equal points, shared by both ids; keys hashing into (previous, shared] land on it.
    const first = all.findIndex((point, n) => highPoints.has(point) && all[n + 1] === point && all[n - 1] !== point);
    assert.ok(first > 0, 'no shared point: pick other ids');
    const [previous, shared] = [all[first - 1]!, all[first]!];
    let key: string | undefined;
    for (let n = 0; n < 5_000_000 && key === undefined; n++) {
      const h = hashKey(`probe-${n}`);
      if (h > previous && h <= shared) key = `probe-${n}`;
    }
    assert.ok(key !== undefined, 'found no key landing on the shared point');
    const target = (id: string): TestTarget => ({ id, weight: 1000, inFlight: 0, available: true });
    assert.equal(createHashRing([target(low!), target(high!)]).lookup(key)?.id, low);
    assert.equal(createHashRing([target(high!), target(low!)]).lookup(key)?.id, low);
  });

  it('spreads 10,000 keys over 5 targets within 25% of an even share each', () => {
    const result = shares(mapKeys(targets(5)));
    assert.equal(result.size, 5);
    for (const [id, count] of result) assertNear(count, 2000, 0.25, String(id));
  });

  it('gives each target a share of keys in proportion to its weight', () => {
    const pool = targets(3);
    pool[1]!.weight = 2;
    pool[2]!.weight = 3;
    const result = shares(mapKeys(pool));
    pool.forEach((target) => assertNear(result.get(target.id) ?? 0, (10_000 * target.weight) / 6, 0.25, target.id));
  });

  for (const size of [5, 10]) {
    it(`moves only the removed target's keys, at most 1/${size} + 5% of them, when one of ${size} targets goes`, () => {
      const pool = targets(size);
      const before = mapKeys(pool);
      const removed = pool[2]!.id;
      const after = mapKeys(pool.filter((target) => target.id !== removed));
      const moved = keys.filter((_, n) => before[n] !== after[n]).length;
      const wereOnRemoved = before.filter((id) => id === removed).length;
      assert.ok(wereOnRemoved > 0, 'the removed target held no keys, so the test proves nothing');
      assert.equal(moved, wereOnRemoved, 'a key that was not on the removed target moved');
      assert.ok(moved <= keys.length * (1 / size + 0.05), `${moved} of ${keys.length} keys moved`);
      assert.equal(after.includes(removed), false);
    });
  }

  it('sends the keys of an unavailable target exactly where removing it would', () => {
    const pool = targets(5);
    const ring = createHashRing(pool);
    const before = keys.map((key) => ring.lookup(key)?.id);
    pool[3]!.available = false;
    const whileDown = keys.map((key) => ring.lookup(key)?.id);
    assert.deepEqual(whileDown, mapKeys(pool.filter((target) => target.available)));
    assert.ok(whileDown.some((id, n) => id !== before[n]), 'no key moved off the unavailable target');
    pool[3]!.available = true;
    assert.deepEqual(keys.map((key) => ring.lookup(key)?.id), before);
  });

  it('finds the one available target from any key', () => {
    const pool = targets(10, 5);
    for (const target of pool.slice(1)) target.available = false;
    const ring = createHashRing(pool);
    assert.deepEqual([...shares(keys.slice(0, 1000).map((key) => ring.lookup(key)?.id)).keys()], [pool[0]!.id]);
  });

  it('returns undefined when no target is available, and for an empty pool', () => {
    const pool = targets(3);
    for (const target of pool) target.available = false;
    assert.equal(createHashRing(pool).lookup('user-1'), undefined);
    assert.equal(createHashRing([]).lookup('user-1'), undefined);
    assert.equal(createHashRing([]).size, 0);
  });
});
