/**
 * Builds each route's policy chain from the config: the gateway-wide policies (created once and shared by
 * every route that inherits them) merged with the route's own, where a route's policy replaces a
 * gateway-wide one of the same type.
 *
 * The exception is a type that adds to the inherited entry (addsToInherited: rate-limit). A route with its
 * own entry of that type gets one policy enforcing both: the route's, created with the gateway-wide
 * entry's settings as deps.inherited, so all its limits are checked together (a refusal by one takes
 * nothing from the others). The gateway-wide policy itself does not run on that route.
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

const addsToInherited = (entry: PolicyEntry) => policyDefinition(entry.type)?.addsToInherited === true;

/**
 * The entries that apply to `route`: the gateway-wide ones it inherits and does not replace by type, then its
 * own. An inherited entry of a type that adds to it stays (its limits hold on the route too).
 */
export function policyEntriesFor(config: Pick<Config, 'policies'>, route: Pick<RouteConfig, 'policies' | 'inheritPolicies'>): PolicyEntry[] {
  const inherited = route.inheritPolicies ? config.policies.filter((d) => addsToInherited(d) || !route.policies.some((o) => o.type === d.type)) : [];
  return [...inherited, ...route.policies];
}

export function buildRoutePolicies(config: Config, deps: PolicyDeps): RoutePolicies {
  const created: NamedPolicy[] = [];
  // A gateway-wide entry becomes one policy shared by every route that inherits it, created on first use.
  const shared = new Map<PolicyEntry, NamedPolicy>();
  const create = (entry: PolicyEntry, scope: string, inherited?: PolicyEntry): NamedPolicy => {
    const definition = policyDefinition(entry.type)!;
    const { type: _type, ...settings } = entry;
    const named = { definition, policy: definition.create(settings, { ...deps, scope, inherited: inherited && settingsOf(inherited) }) };
    created.push(named);
    return named;
  };
  const gatewayWide = (entry: PolicyEntry): NamedPolicy => {
    let named = shared.get(entry);
    if (!named) shared.set(entry, named = create(entry, '*'));
    return named;
  };
  return {
    chainFor(route) {
      const entries = policyEntriesFor(config, route);
      const all: NamedPolicy[] = [];
      for (const entry of entries) {
        if (!config.policies.includes(entry)) {
          const inherited = addsToInherited(entry) ? entries.find((e) => e.type === entry.type && config.policies.includes(e)) : undefined;
          all.push(create(entry, route.name, inherited));
        } else if (!(addsToInherited(entry) && route.policies.some((o) => o.type === entry.type))) {
          all.push(gatewayWide(entry));
        }
      }
      return all.length === 0 ? EMPTY_CHAIN : compileChain(all, deps.log);
    },
    close() {
      closePolicies(created);
      created.length = 0;
    },
  };
}

function settingsOf(entry: PolicyEntry): Record<string, unknown> {
  const { type: _type, ...settings } = entry;
  return settings;
}
