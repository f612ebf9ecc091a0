/**
 * consistent-hash: sends each request key to the same target for as long as that target is available, using
 * the ketama ring in hash-ring.ts; when it is not, the key goes to the next available target on the ring.
 * A request with no key (undefined or the empty string) is not hashed: it is spread round-robin over the
 * available targets, since hashing one shared empty key would pile all such requests onto one target.
 * With no target available pick() returns undefined.
 */
import { availableForPeek, type Balancer, type BalancerFactory, type BalancerTarget } from './balancer.ts';
import { createHashRing } from './hash-ring.ts';
import { roundRobin } from './round-robin.ts';

export const consistentHash: BalancerFactory = <T extends BalancerTarget>(targets: readonly T[]): Balancer<T> => {
  const ring = createHashRing(targets);
  const fallback = roundRobin(targets);
  return {
    pick(key) {
      return key === undefined || key === '' ? fallback.pick() : ring.lookup(key);
    },
    peek(key) {
      return key === undefined || key === '' ? fallback.peek?.() : ring.lookup(key, availableForPeek);
    },
  };
};
