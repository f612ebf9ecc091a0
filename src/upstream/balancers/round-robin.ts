/**
 * round-robin: hands requests to the targets in turn, ignoring weight and load.
 * Unavailable targets are skipped and the rotation carries on after the target it picked, so a target that
 * comes back rejoins in its place. With no target available (or none at all) pick() returns undefined.
 * Each build starts the rotation at the first target; a reload restarts it.
 */
import { availableForPeek, type Balancer, type BalancerFactory, type BalancerTarget } from './balancer.ts';

export const roundRobin: BalancerFactory = <T extends BalancerTarget>(targets: readonly T[]): Balancer<T> => {
  let next = 0;
  return {
    pick() {
      const count = targets.length;
      for (let step = 0; step < count; step++) {
        const index = (next + step) % count;
        const target = targets[index];
        if (target?.available) {
          next = (index + 1) % count;
          return target;
        }
      }
      return undefined;
    },
    peek() {
      for (let step = 0; step < targets.length; step++) {
        const target = targets[(next + step) % targets.length];
        if (target !== undefined && availableForPeek(target)) return target;
      }
      return undefined;
    },
  };
};
