/**
 * What changed between two validated configs: routes (by name), upstreams (by name) and policies (by type,
 * per route and gateway-wide) added, removed or changed, and the settings that need a restart. Pure: the
 * reload log line (process/supervisor.ts) and the admin API's dry run show the same diff.
 *
 * A route's own settings and its policies are compared apart: a changed policy is reported under policies
 * only. Policies are named by type ("cors") when gateway-wide, "ROUTE/TYPE" on a route (route names cannot
 * contain "/"); those of a route added or removed come with the route and are not listed again.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PolicyEntry } from './policies-schema.ts';
import type { Config } from './schema.ts';

export interface Changes {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** Settings read once at startup; a reload that changes them is logged and they take effect on restart. */
export type RestartKey = 'listen' | 'listen.tls' | 'admin' | 'metrics' | 'liveStats' | 'workers' | 'server.maxHeaderSize';

export interface ConfigDiff {
  readonly routes: Changes;
  readonly upstreams: Changes;
  readonly policies: Changes;
  /** Restart-only settings whose value differs. */
  readonly restart: RestartKey[];
}

/** Compares two name -> value maps; names keep the order of `next`, then removed ones in `old`'s order. */
function compare<T>(old: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>, prefix = ''): Changes {
  const changes: Changes = { added: [], removed: [], changed: [] };
  for (const [name, value] of next) {
    if (!old.has(name)) changes.added.push(prefix + name);
    else if (!isDeepStrictEqual(old.get(name), value)) changes.changed.push(prefix + name);
  }
  for (const name of old.keys()) if (!next.has(name)) changes.removed.push(prefix + name);
  return changes;
}

function byType(policies: readonly PolicyEntry[]): Map<string, PolicyEntry> {
  return new Map(policies.map((p) => [p.type, p]));
}

function routesWithoutPolicies(config: Config) {
  return new Map(config.routes.map(({ policies: _policies, ...route }) => [route.name, route]));
}

function policyChanges(old: Config, next: Config): Changes {
  const all: Changes = compare(byType(old.policies), byType(next.policies));
  const oldRoutes = new Map(old.routes.map((r) => [r.name, r]));
  for (const route of next.routes) {
    const before = oldRoutes.get(route.name);
    if (!before) continue;
    const c = compare(byType(before.policies), byType(route.policies), `${route.name}/`);
    all.added.push(...c.added);
    all.removed.push(...c.removed);
    all.changed.push(...c.changed);
  }
  return all;
}

function restartKeys(old: Config, next: Config): RestartKey[] {
  const { tls: oldTls, ...oldListen } = old.listen;
  const { tls: nextTls, ...nextListen } = next.listen;
  const differs: Record<RestartKey, boolean> = {
    'listen': !isDeepStrictEqual(oldListen, nextListen),
    'listen.tls': !isDeepStrictEqual(oldTls, nextTls),
    'admin': !isDeepStrictEqual(old.admin, next.admin),
    'metrics': old.metrics.enabled !== next.metrics.enabled,
    'liveStats': old.liveStats.enabled !== next.liveStats.enabled,
    'workers': old.workers !== next.workers,
    'server.maxHeaderSize': old.server.maxHeaderSize !== next.server.maxHeaderSize,
  };
  return (Object.keys(differs) as RestartKey[]).filter((key) => differs[key]);
}

export function configDiff(old: Config, next: Config): ConfigDiff {
  return {
    routes: compare(routesWithoutPolicies(old), routesWithoutPolicies(next)),
    upstreams: compare(new Map(Object.entries(old.upstreams)), new Map(Object.entries(next.upstreams))),
    policies: policyChanges(old, next),
    restart: restartKeys(old, next),
  };
}

/** "2 routes added, 1 upstream changed", or "no changes"; restart keys are reported on their own. */
export function summarize(diff: ConfigDiff): string {
  const parts: string[] = [];
  for (const [kind, changes] of [['route', diff.routes], ['upstream', diff.upstreams], ['policy', diff.policies]] as const) {
    for (const verb of ['added', 'removed', 'changed'] as const) {
      const n = changes[verb].length;
      if (n > 0) parts.push(`${n} ${n === 1 ? kind : kind === 'policy' ? 'policies' : `${kind}s`} ${verb}`);
    }
  }
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}
