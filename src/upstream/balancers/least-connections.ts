/**
 * least-connections: the power of two random choices over `inFlight`. Each pick samples two distinct
 * available targets at random and takes the one with fewer requests in flight; on a tie the heavier weight
 * wins, then the first sampled (itself random). Weight only breaks ties here.
 * Sampling two instead of scanning for the global minimum keeps a burst of concurrent picks from all landing
 * on the one idle target, and a target with more in flight than every other is never chosen.
 * With one target available it is picked; with none pick() returns undefined. peek() answers the available
 * target with the fewest in flight (heavier weight, then first, on a tie): the one a pick lands on most often.
 */
import { availableForPeek, type Balancer, type BalancerFactory, type BalancerTarget } from './balancer.ts';

/** `random` returns a number in [0, 1), like Math.random; tests inject a seeded one. */
export function createLeastConnections(random: () => number = Math.random): BalancerFactory {
  return <T extends BalancerTarget>(targets: readonly T[]): Balancer<T> => {
    // Reused on every pick so the request path allocates nothing.
    const candidates: T[] = [];
    return {
      pick() {
        candidates.length = 0;
        for (const target of targets) if (target.available) candidates.push(target);
        const count = candidates.length;
        if (count < 2) return candidates[0];
        const first = Math.floor(random() * count);
        let second = Math.floor(random() * (count - 1));
        // Shifting past `first` keeps the two distinct and each pair equally likely.
        if (second >= first) second++;
        const a = candidates[first];
        const b = candidates[second];
        if (a === undefined || b === undefined) return a ?? b;
        return lessLoaded(a, b);
      },
      peek() {
        let best: T | undefined;
        for (const target of targets) if (availableForPeek(target)) best = best === undefined ? target : lessLoaded(best, target);
        return best;
      },
    };
  };
}

function lessLoaded<T extends BalancerTarget>(a: T, b: T): T {
  if (a.inFlight !== b.inFlight) return a.inFlight < b.inFlight ? a : b;
  return b.weight > a.weight ? b : a;
}

export const leastConnections: BalancerFactory = createLeastConnections();
