/**
 * weighted-round-robin: nginx's smooth weighted round-robin. On each pick every available target's current
 * weight grows by its weight, the largest current weight wins (the earlier target on a tie) and the winner's
 * current weight drops by the total weight of the available targets. Weights 5/1/1 over a, b, c give
 * a a b a c a a, then repeat: heavy targets are interleaved, not sent bursts.
 * An unavailable target is skipped and its current weight stays where it was; its weight leaves the total.
 * With no target available pick() returns undefined. Unlike nginx there is no effective_weight that backs off
 * after failures: health checks and circuit breakers make a target unavailable instead.
 */
import { availableForPeek, type Balancer, type BalancerFactory, type BalancerTarget } from './balancer.ts';

export const weightedRoundRobin: BalancerFactory = <T extends BalancerTarget>(targets: readonly T[]): Balancer<T> => {
  // Indexed like `targets`. The current weights of the targets in each pick sum to zero afterwards, so they
  // stay bounded however long the balancer runs.
  const current = new Float64Array(targets.length);
  return {
    pick() {
      let total = 0;
      let best: T | undefined;
      let bestIndex = -1;
      let bestWeight = -Infinity;
      for (let index = 0; index < targets.length; index++) {
        const target = targets[index];
        if (!target?.available) continue;
        const weight = (current[index] ?? 0) + target.weight;
        current[index] = weight;
        total += target.weight;
        if (weight > bestWeight) {
          best = target;
          bestIndex = index;
          bestWeight = weight;
        }
      }
      if (best === undefined) return undefined;
      current[bestIndex] = bestWeight - total;
      return best;
    },
    peek() {
      // pick()'s comparison on the weights it would reach, without storing them.
      let best: T | undefined;
      let bestWeight = -Infinity;
      for (let index = 0; index < targets.length; index++) {
        const target = targets[index];
        if (target === undefined || !availableForPeek(target)) continue;
        const weight = (current[index] ?? 0) + target.weight;
        if (weight > bestWeight) {
          best = target;
          bestWeight = weight;
        }
      }
      return best;
    },
  };
};
