/**
 * Builds each route's policy chain from the config: the gateway-wide policies (created once and shared by
 * every route that inherits them) merged with the route's own, where a route's policy replaces a
 * gateway-wide one of the same type.
 */
import type { Config, RouteConfig } from '../config/schema.ts';
import type { PolicyEntry } from '../config/policies-schema.ts';
import type { PolicyDeps } from '../pipeline/policy.ts';
import { closePolicies, compileChain, EMPTY_CHAIN, type NamedPolicy, type PolicyChain } from '../pipeline/run.ts';
import { policyDefinition } from '../policies/registry.ts';

export interface RoutePolicies {
  chainFor(route: RouteConfig): PolicyChain;
  /** Closes every policy created (the runtime drained, or its build failed). */
  close(): void;
}

export function buildRoutePolicies(config: Config, deps: PolicyDeps): RoutePolicies {
  const created: NamedPolicy[] = [];
  const create = (entry: PolicyEntry): NamedPolicy => {
    const definition = policyDefinition(entry.type)!;
    const { type: _type, ...settings } = entry;
    const named = { definition, policy: definition.create(settings, deps) };
    created.push(named);
    return named;
  };
  let defaults: NamedPolicy[] | undefined;
  return {
    chainFor(route) {
      defaults ??= config.policies.map(create);
      const own = route.policies.map(create);
      const inherited = route.inheritPolicies ? defaults.filter((d) => !own.some((o) => o.definition.type === d.definition.type)) : [];
      const all = [...inherited, ...own];
      return all.length === 0 ? EMPTY_CHAIN : compileChain(all, deps.log);
    },
    close() {
      closePolicies(created);
      created.length = 0;
    },
  };
}
