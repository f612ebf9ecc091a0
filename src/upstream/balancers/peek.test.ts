import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BalancerFactory, BalancerTarget } from './balancer.ts';
import { balancers } from './balancer-registry.ts';

/** A target whose `available` getter counts its reads, as a breaker's would move state on read. */
class Probe implements BalancerTarget {
  readonly id: string;
  readonly weight: number;
  inFlight = 0;
  up = true;
  availableReads = 0;
  constructor(id: string, weight = 1) {
    this.id = id;
    this.weight = weight;
  }
  get available(): boolean {
    this.availableReads++;
    return this.up;
  }
  peekAvailable(): boolean {
    return this.up;
  }
}

const targets = () => [new Probe('a', 5), new Probe('b', 1), new Probe('c', 1)];

for (const [name, factory] of Object.entries(balancers) as Array<[string, BalancerFactory]>) {
  describe(`${name} peek()`, () => {
    it('names the target the next pick takes, and peeking again does not move the turn', () => {
      const ts = targets().slice(0, name === 'least-connections' ? 2 : 3); // two choices of two are not random
      const balancer = factory(ts);
      for (let i = 0; i < 9; i++) {
        const peeked = balancer.peek!('key-1');
        assert.equal(balancer.peek!('key-1'), peeked, 'a second peek answers the same');
        assert.equal(balancer.pick('key-1'), peeked, `pick ${i}`);
        ts[i % ts.length]!.inFlight = i % 3;
      }
    });

    it('skips unavailable targets and reads availability without side effects', () => {
      const ts = targets();
      ts[0]!.up = false;
      const balancer = factory(ts);
      const reads = () => ts.reduce((n, t) => n + t.availableReads, 0);
      const before = reads();
      const peeked = balancer.peek!('key-2');
      assert.notEqual(peeked?.id, 'a');
      assert.equal(reads(), before, 'peek used peekAvailable(), never the available getter');
      for (const t of ts) t.up = false;
      assert.equal(balancer.peek!('key-2'), undefined, 'none available: undefined');
    });
  });
}

describe('least-connections peek()', () => {
  it('answers the available target with the fewest in flight', () => {
    const ts = targets();
    ts[0]!.inFlight = 4;
    ts[1]!.inFlight = 2;
    ts[2]!.inFlight = 1;
    assert.equal(balancers['least-connections'](ts).peek!()?.id, 'c');
  });
});
