/**
 * The balancers by the name an upstream's `balancer` key uses. runtime/build.ts looks a factory up here once
 * per pool; typing the map by BalancerName makes a name added to the schema without a balancer a type error.
 */
import type { BalancerName } from '../upstream-schema.ts';
import type { BalancerFactory } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { leastConnections } from './least-connections.ts';
import { roundRobin } from './round-robin.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

export const balancers: Record<BalancerName, BalancerFactory> = {
  'round-robin': roundRobin,
  'weighted-round-robin': weightedRoundRobin,
  'least-connections': leastConnections,
  'consistent-hash': consistentHash,
};
