/**
 * The contract every balancer implements. A balancer is built once per runtime over a fixed list of
 * targets and picks one per request. Targets are live objects: `inFlight` and `available` change while the
 * balancer runs (health checks and circuit breakers flip `available`), so a balancer reads them at pick time
 * and never caches them. Reading `available` is what moves an open breaker whose openFor has passed to
 * half-open (the pick reached the target): reports must use TargetState.peekAvailable() instead.
 */
export interface BalancerTarget {
  /** Stable identity of the target (its URL), used by consistent hashing so keys stay put across reloads. */
  readonly id: string;
  /** Relative share of traffic, an integer >= 1. */
  readonly weight: number;
  /** Requests currently in flight to this target. */
  readonly inFlight: number;
  /** False while the target must not receive traffic (unhealthy, circuit open). */
  readonly available: boolean;
  /** `available` without side effects (reading `available` may move a circuit breaker along). */
  peekAvailable?(): boolean;
}

/** Whether `target` is available, read without side effects: what peek() uses. */
export function availableForPeek(target: BalancerTarget): boolean {
  return target.peekAvailable ? target.peekAvailable() : target.available;
}

export interface Balancer<T extends BalancerTarget = BalancerTarget> {
  /**
   * Picks a target, or undefined when none is available. `key` is the request's hash key (consistent-hash
   * only; other balancers ignore it). A consistent-hash balancer given no key falls back to round-robin.
   */
  pick(key?: string): T | undefined;
  /**
   * The target pick() would return now, without taking its turn or changing any state (GET /explain).
   * Balancers that choose at random answer the most likely choice.
   */
  peek?(key?: string): T | undefined;
}

export type BalancerFactory = <T extends BalancerTarget>(targets: readonly T[]) => Balancer<T>;
