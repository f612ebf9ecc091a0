/**
 * Dependency rules for src/, checked by `npm run lint:deps` (dependency-cruiser).
 *
 * LAYERS lists the units of src/ (a folder, or a file directly under src/) from the BOTTOM of the
 * stack to the TOP. Dependencies point DOWN only: a module may import from its own unit and from
 * units in earlier (lower) entries, never from a later (higher) entry, and never from another unit
 * in the same entry (peers such as router and upstream stay independent of each other).
 * Type-only imports count (tsPreCompilationDeps), so `import type` cannot smuggle an upward edge.
 *
 * This list is the single place the order lives: the layering rules below are generated from it.
 * A new folder under src/ must be added here; importing, or importing from, a unit that is not
 * listed is an error of its own (layer-unlisted).
 *
 * Tests (*.test.ts) are not checked: they may import anything in src/ and test/helpers/.
 * Module-level cycles are forbidden everywhere in src/ (no-circular).
 */
const LAYERS = [
  // Vocabulary with no Gatehouse imports: addresses and headers, config field types, leases by identity.
  ['net', 'fields', 'leases', 'errors.ts'],
  // The access log, the reason catalogue, request IDs: what every layer above may report through.
  ['observability'],
  // Units that know nothing of a request's lifecycle: the route table, targets and balancers, the shared Redis.
  ['router', 'upstream', 'redis'],
  // The request's state (Exchange), the policy contract, local replies, the chain runner, finish hooks.
  ['pipeline'],
  // Live statistics: rolling windows of the traffic by route, fed by a finish hook.
  ['live'],
  // One file per policy type; a route's retry rules and the upstreams' retry budgets; spans from finished requests.
  ['policies', 'retry', 'tracing'],
  // The whole config: composes the units' schemas (policies, upstreams, route matches), so it sits above them.
  ['config'],
  // Config -> Runtime (the only place that knows every unit), the Gateway holding it, the deadline ticker.
  ['runtime'],
  // Metrics: the finish hook and target meters feeding one prom-client registry, and the workers' merge.
  ['metrics'],
  // Alert rules over the live statistics: their state machine, the evaluator, webhook deliveries.
  ['alerts'],
  // Upstream attempts: one dispatch to one target, header rules, the outcome table, tunnels.
  ['proxy'],
  // The client side: listeners, the server stage, the lifecycle, responders, finish.
  ['server'],
  ['admin'],
  ['process'],
  ['cli'],
  ['main.ts'],
];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The path pattern of one unit: a file under src/ matches itself, a folder matches everything in it. */
const unitPath = (unit) => (unit.endsWith('.ts') ? `^src/${escape(unit)}$` : `^src/${escape(unit)}/`);
const ALL_UNITS = LAYERS.flat();

const layerRules = LAYERS.flatMap((layer, level) =>
  layer.map((unit) => {
    const above = LAYERS.slice(level + 1).flat();
    const peers = layer.filter((other) => other !== unit);
    const forbidden = [...peers, ...above];
    const allowed = LAYERS.slice(0, level).flat();
    return {
      name: `layer-${unit}`,
      severity: 'error',
      comment:
        `${unit} may import only itself` +
        (allowed.length > 0 ? ` and the layers below it (${allowed.join(', ')})` : ' (it is the bottom layer)') +
        (peers.length > 0 ? `; not its peer ${peers.join(', ')}` : '') +
        '.',
      from: { path: unitPath(unit) },
      to: { path: forbidden.map(unitPath) },
    };
  }),
).filter((rule) => rule.to.path.length > 0);

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module in src/ may reach itself through its imports (type-only imports included).',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'layer-unlisted',
      severity: 'error',
      comment: 'Every unit of src/ must have a place in LAYERS (.dependency-cruiser.mjs).',
      from: { path: '^src/', pathNot: ALL_UNITS.map(unitPath) },
      to: {},
    },
    {
      name: 'layer-unlisted',
      severity: 'error',
      comment: 'Every unit of src/ must have a place in LAYERS (.dependency-cruiser.mjs).',
      from: {},
      to: { path: '^src/', pathNot: ALL_UNITS.map(unitPath) },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import the checker cannot resolve would hide its edge from every rule above.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Only the application code; tests may import across the layers.
    // includeOnly is not used: it would also drop unresolvable imports, which not-to-unresolvable must see.
    exclude: { path: '\\.test\\.ts$' },
    doNotFollow: { path: 'node_modules' },
    // Keep `import type` / `export type` edges: a cycle or an upward edge through types still counts.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The code imports './x.ts' explicitly (allowImportingTsExtensions); these resolve as written.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
