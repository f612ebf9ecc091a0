/**
 * Builds each route's policy chain from the config: the gateway-wide policies (created once and shared by
 * every route that inherits them) merged with the route's own, where a route's policy replaces a
 * gateway-wide one of the same type.
 */
import type { Config, RouteConfig } from '../config/schema.ts';
import type { PolicyEntry } from '../config/policies-schema.ts';
import type { PolicyDeps } from '../pipeline/policy.ts';
import { closePolicies, compileChain, EMPTY_CHAIN, type NamedPolicy, type PolicyChain } from '../pipeline/run.ts';
import { policyDefinition } from '../policies/policy-registry.ts';

export interface RoutePolicies {
  chainFor(route: RouteConfig): PolicyChain;
  /** Closes every policy created (the runtime drained, or its build failed). */
  close(): void;
}

/** The entries that apply to `route`: the gateway-wide ones it inherits and does not replace by type, then its own. */
export function policyEntriesFor(config: Pick<Config, 'policies'>, route: Pick<RouteConfig, 'policies' | 'inheritPolicies'>): PolicyEntry[] {
  const inherited = route.inheritPolicies ? config.policies.filter((d) => !route.policies.some((o) => o.type === d.type)) : [];
  return [...inherited, ...route.policies];
}

export function buildRoutePolicies(config: Config, deps: PolicyDeps): RoutePolicies {
  const created: NamedPolicy[] = [];
  // A gateway-wide entry becomes one policy shared by every route that inherits it, created on first use.
  const shared = new Map<PolicyEntry, NamedPolicy>();
  const create = (entry: PolicyEntry): NamedPolicy => {
    const definition = policyDefinition(entry.type)!;
    const { type: _type, ...settings } = entry;
    const named = { definition, policy: definition.create(settings, deps) };
    created.push(named);
    return named;
  };
  const instanceOf = (entry: PolicyEntry): NamedPolicy => {
    if (!config.policies.includes(entry)) return create(entry);
    let named = shared.get(entry);
    if (!named) shared.set(entry, named = create(entry));
    return named;
  };
  return {
    chainFor(route) {
      const all = policyEntriesFor(config, route).map(instanceOf);
      return all.length === 0 ? EMPTY_CHAIN : compileChain(all, deps.log);
    },
    close() {
      closePolicies(created);
      created.length = 0;
    },
  };
}
