/**
 * docs/metrics.md names every series the registry of a serving process holds, with its type and how the
 * workers' values merge, and documents nothing the registry does not have.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { Gateway } from '../runtime/gateway.ts';
import { GatewayMetrics } from './gateway-metrics.ts';
import { createRegistry, ReloadMetrics } from './process-metrics.ts';

const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');

it('docs/metrics.md and the registry name the same series, with the same type and merge', async () => {
  const registry = createRegistry();
  new ReloadMetrics(registry);
  const gateway = new Gateway(configSchema.parse({ admin: { enabled: false }, log: { access: { enabled: false } }, upstreams: {}, routes: [] }), createLogger('error'));
  try {
    new GatewayMetrics(gateway, registry);
    const registered = (await registry.getMetricsAsJSON()).map((m) => `${m.name} ${String(m.type)} ${m.aggregator}`).sort();
    const documented = [...doc.matchAll(/^\| `([a-z0-9_]+)` \| (\w+) \| (\w+) \|/gm)].map(([, name, type, merged]) => `${name} ${type} ${merged}`).sort();
    assert.deepEqual(documented, registered);
  } finally {
    await gateway.close();
  }
});
