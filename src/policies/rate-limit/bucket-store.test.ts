import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketStore } from './bucket-store.ts';

/** One limit: `limit` per `window` ms with `burst` tokens, as the policy compiles it. */
function limits(...specs: Array<{ limit: number; window: number; burst?: number }>) {
  const interval = Float64Array.from(specs, (s) => s.window / s.limit);
  const capacity = Float64Array.from(specs, (s, i) => (s.burst ?? s.limit) * interval[i]!);
  return { interval, capacity, occupancy: new Float64Array(specs.length), count: specs.length };
}

function admittedCount(store: BucketStore, keys: string[], l: ReturnType<typeof limits>, now: number, tries: number): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (store.take(keys, l.count, l.interval, l.capacity, now, l.occupancy)) n++;
  return n;
}

describe('the in-memory GCRA buckets', () => {
  it('admits exactly `burst` requests at one instant, then refuses', () => {
    for (const spec of [{ limit: 100, window: 60_000, burst: 20 }, { limit: 7, window: 60_000 }, { limit: 3, window: 1000 }, { limit: 1, window: 1 }]) {
      const store = new BucketStore();
      const l = limits(spec);
      assert.equal(admittedCount(store, ['b'], l, 1000, 500), spec.burst ?? spec.limit, JSON.stringify(spec));
    }
  });

  it('refills one token per window / limit, and no sooner', () => {
    const store = new BucketStore();
    const l = limits({ limit: 10, window: 1000, burst: 2 }); // one token per 100 ms
    assert.equal(admittedCount(store, ['b'], l, 0, 5), 2);
    assert.equal(admittedCount(store, ['b'], l, 99, 5), 0, 'the first token comes back at 100 ms');
    assert.equal(admittedCount(store, ['b'], l, 100, 5), 1);
    assert.equal(admittedCount(store, ['b'], l, 150, 5), 0);
    assert.equal(admittedCount(store, ['b'], l, 400, 5), 2, 'never more than the burst, however long the pause');
    // A steady client at exactly the rate is always admitted.
    for (let t = 600; t < 2600; t += 100) assert.equal(admittedCount(store, ['b'], l, t, 1), 1, `at ${t}`);
  });

  it('reports how long each bucket needs to be full again', () => {
    const store = new BucketStore();
    const l = limits({ limit: 10, window: 1000 });
    store.take(['b'], 1, l.interval, l.capacity, 0, l.occupancy);
    assert.equal(l.occupancy[0], 100);
    store.take(['b'], 1, l.interval, l.capacity, 50, l.occupancy);
    assert.equal(l.occupancy[0], 150);
  });

  it('with several limits, a refusal by one consumes nothing from the others', () => {
    const store = new BucketStore();
    const l = limits({ limit: 5, window: 1000 }, { limit: 2, window: 1000 });
    assert.equal(admittedCount(store, ['wide', 'narrow'], l, 0, 10), 2);
    // The wide bucket gave 2 of its 5: the 8 refusals took nothing from it.
    const wide = limits({ limit: 5, window: 1000 });
    assert.equal(admittedCount(store, ['wide'], wide, 0, 10), 3);
    // And the state before a refusal is what the store reports.
    assert.equal(store.take(['wide', 'narrow'], 2, l.interval, l.capacity, 0, l.occupancy), false);
    assert.deepEqual([...l.occupancy], [1000, 1000]);
  });

  it('drops buckets that are full again, so many distinct clients do not grow memory without bound', () => {
    const store = new BucketStore();
    const l = limits({ limit: 10, window: 1000 });
    for (let i = 0; i < 10_000; i++) store.take([`ip:10.0.${i >> 8}.${i & 255}`], 1, l.interval, l.capacity, 0, l.occupancy);
    assert.equal(store.size, 10_000);
    // Every bucket is full again after 100 ms; the next sweep (at most 10 s later) removes them all.
    store.take(['other'], 1, l.interval, l.capacity, 10_001, l.occupancy);
    assert.equal(store.size, 1);
  });

  it('keeps a bucket that is still refilling through a sweep', () => {
    const store = new BucketStore();
    const l = limits({ limit: 1, window: 60_000 });
    assert.equal(admittedCount(store, ['slow'], l, 0, 2), 1);
    assert.equal(admittedCount(store, ['slow'], l, 20_000, 1), 0, 'the sweep at 20 s keeps it');
    assert.equal(admittedCount(store, ['slow'], l, 60_000, 1), 1);
  });

  it('holds at most maxBuckets, dropping the longest-held first', () => {
    const store = new BucketStore(3);
    const l = limits({ limit: 2, window: 60_000 });
    for (const key of ['a', 'b', 'c', 'b']) store.take([key], 1, l.interval, l.capacity, 0, l.occupancy);
    store.take(['d'], 1, l.interval, l.capacity, 1, l.occupancy);
    assert.equal(store.size, 3);
    assert.equal(admittedCount(store, ['b'], l, 2, 5), 0, 'b is kept (both tokens used)');
    assert.equal(admittedCount(store, ['a'], l, 2, 5), 2, 'a was the first held: dropped, so it starts full');
    store.close();
    assert.equal(store.size, 0);
  });
});
