import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancerNames } from '../upstream-schema.ts';
import { balancers } from './balancer-registry.ts';

describe('balancer registry', () => {
  it('has a balancer for every name the config schema accepts, and no other', () => {
    assert.deepEqual(Object.keys(balancers).sort(), [...balancerNames].sort());
  });

  it('builds balancers that pick an available target and undefined when there is none', () => {
    for (const [name, create] of Object.entries(balancers)) {
      const pool = [
        { id: 'a', weight: 1, inFlight: 0, available: false },
        { id: 'b', weight: 1, inFlight: 0, available: true },
      ];
      const balancer = create(pool);
      assert.equal(balancer.pick('key')?.id, 'b', name);
      assert.equal(balancer.pick()?.id, 'b', name);
      pool[1]!.available = false;
      assert.equal(balancer.pick('key'), undefined, name);
    }
  });
});
