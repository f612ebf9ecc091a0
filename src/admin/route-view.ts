/**
 * How GET /routes, GET /explain and `gatehouse explain` show a route: its match, upstream and the policies
 * that run on it in the order they run (the chain runner's order: priority, highest first; auth policies
 * among them form one group where any one admits). Policy settings are left out: they hold secrets.
 */
import type { Config, RouteConfig } from '../config/schema.ts';
import { policyDefinition } from '../policies/policy-registry.ts';
import { policyEntriesFor } from '../runtime/route-policies.ts';

export interface PolicyView {
  readonly type: string;
  readonly priority: number;
  readonly kind: string;
  /** gateway: inherited from the top-level `policies`; route: the route's own. */
  readonly from: 'gateway' | 'route';
}

export function policiesInOrder(config: Config, route: RouteConfig): PolicyView[] {
  return policyEntriesFor(config, route)
    .map((entry) => {
      const definition = policyDefinition(entry.type);
      return { type: entry.type, priority: definition?.priority ?? 0, kind: definition?.kind ?? 'filter', from: route.policies.includes(entry) ? 'route' as const : 'gateway' as const };
    })
    .sort((a, b) => b.priority - a.priority);
}

export function routeView(config: Config, route: RouteConfig) {
  return {
    name: route.name,
    match: route.match,
    upstream: route.upstream,
    stripPrefix: route.stripPrefix,
    preserveHost: route.preserveHost,
    timeout: route.timeout ?? null,
    policies: policiesInOrder(config, route),
  };
}
