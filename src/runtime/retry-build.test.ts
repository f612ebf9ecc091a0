import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, type Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { RouteRetry } from '../retry/route-retry.ts';
import { Gateway } from './gateway.ts';
import type { RetryPolicy } from './route.ts';

/** Upstreams a and b; `routes` maps a route name to its upstream and whether it retries. */
function config(routes: Record<string, { upstream: string; retry: boolean }>): Config {
  return configSchema.parse({
    log: { level: 'silent', access: { enabled: false } },
    upstreams: { a: { targets: [{ url: 'http://127.0.0.1:1' }] }, b: { targets: [{ url: 'http://127.0.0.1:2' }] } },
    routes: Object.entries(routes).map(([name, r]) => ({ name, match: { path: `/${name}` }, upstream: r.upstream, ...(r.retry ? { retry: {} } : {}) })),
  });
}

function retryOf(gateway: Gateway, route: string): RetryPolicy | undefined {
  const found = gateway.runtime.router.lookup('GET', `/${route}`, undefined, {});
  assert.equal(found.kind, 'found');
  return found.kind === 'found' ? found.match.route.retry : undefined;
}

describe('building retries', () => {
  it('builds a RouteRetry for each route with retry, and none for the others', async () => {
    const gateway = new Gateway(config({ one: { upstream: 'a', retry: true }, two: { upstream: 'a', retry: false } }), createLogger('silent'));
    assert.ok(retryOf(gateway, 'one') instanceof RouteRetry);
    assert.equal(retryOf(gateway, 'two'), undefined);
    await gateway.close();
  });

  it('keeps one budget per upstream, shared by its routes and kept across a reload that keeps the upstream', async () => {
    const gateway = new Gateway(config({ one: { upstream: 'a', retry: true }, two: { upstream: 'a', retry: true }, three: { upstream: 'b', retry: true } }), createLogger('silent'));
    assert.equal(gateway.retryBudgets.size, 2, 'a and b');
    const [budgetA] = gateway.retryBudgets.values();
    gateway.reload(config({ one: { upstream: 'a', retry: true } }));
    assert.deepEqual(gateway.retryBudgets.values(), [budgetA], 'a kept (the same object), b released with the old runtime');
    gateway.reload(config({ one: { upstream: 'a', retry: false } }));
    assert.equal(gateway.retryBudgets.size, 0);
    await gateway.close();
  });

  it('lets a test give its own policy in place of the config\'s', async () => {
    const given: RetryPolicy = {
      keepBodyBytes: 1, perTryTimeout: undefined, counted() {}, retriesStatus: () => false, shouldRetry: () => false, backoff: () => 0, takeBudget: () => true,
    };
    const gateway = new Gateway(config({ one: { upstream: 'a', retry: true } }), createLogger('silent'), { retryFor: () => given });
    assert.equal(retryOf(gateway, 'one'), given);
    assert.equal(gateway.retryBudgets.size, 0);
    await gateway.close();
  });
});
