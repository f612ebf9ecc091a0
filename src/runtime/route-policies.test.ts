import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { configSchema } from '../config/schema.ts';
import { buildRoutePolicies, policyEntriesFor } from './route-policies.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';

const config = configSchema.parse({
  upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } },
  policies: [{ type: 'ip-filter', allow: ['127.0.0.1'] }, { type: 'request-size-limit', maxBytes: '1KiB' }],
  routes: [
    { name: 'inherits', match: { path: '/a' }, upstream: 'u' },
    { name: 'also', match: { path: '/b' }, upstream: 'u' },
    { name: 'replaces', match: { path: '/c' }, upstream: 'u', policies: [{ type: 'request-size-limit', maxBytes: '2KiB' }] },
    { name: 'alone', match: { path: '/d' }, upstream: 'u', inheritPolicies: false, policies: [{ type: 'content-type-filter', allow: ['application/json'] }] },
  ],
});
const route = (name: string) => config.routes.find((r) => r.name === name)!;

describe('route policies', () => {
  it('applies the inherited gateway-wide entries a route does not replace by type, then its own', () => {
    assert.deepEqual(policyEntriesFor(config, route('inherits')), config.policies);
    assert.deepEqual(policyEntriesFor(config, route('replaces')), [config.policies[0], route('replaces').policies[0]]);
    assert.deepEqual(policyEntriesFor(config, route('alone')), route('alone').policies);
  });

  it('creates a gateway-wide policy once, shared by every route that inherits it, and a route\'s own per route', () => {
    const built = buildRoutePolicies(config, { log: pino({ level: 'silent' }), shared: new SharedResources() });
    const policyOf = (name: string, type: string) => built.chainFor(route(name)).policies.find((p) => p.definition.type === type)?.policy;
    assert.ok(policyOf('inherits', 'ip-filter'));
    assert.equal(policyOf('inherits', 'ip-filter'), policyOf('also', 'ip-filter'), 'one ip-filter for every inheriting route');
    assert.equal(policyOf('inherits', 'request-size-limit'), policyOf('also', 'request-size-limit'));
    assert.equal(policyOf('replaces', 'ip-filter'), policyOf('inherits', 'ip-filter'));
    assert.ok(policyOf('replaces', 'request-size-limit'));
    assert.notEqual(policyOf('replaces', 'request-size-limit'), policyOf('inherits', 'request-size-limit'), 'the route\'s own size limit');
    assert.deepEqual(built.chainFor(route('alone')).policies.map((p) => p.definition.type), ['content-type-filter']);
    built.close();
  });
});

describe('route policies: rate-limit adds to the inherited one', () => {
  const limit = (name: string, n: number) => ({ type: 'rate-limit', limits: [{ name, key: 'ip', limit: n, window: '1m' }] });
  const rl = configSchema.parse({
    upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } },
    policies: [limit('everywhere', 5)],
    routes: [
      { name: 'plain', match: { path: '/a' }, upstream: 'u' },
      { name: 'plain2', match: { path: '/b' }, upstream: 'u' },
      { name: 'orders', match: { path: '/c' }, upstream: 'u', policies: [limit('orders', 2)] },
      { name: 'alone', match: { path: '/d' }, upstream: 'u', inheritPolicies: false, policies: [limit('alone', 1)] },
    ],
  });
  const routeOf = (name: string) => rl.routes.find((r) => r.name === name)!;

  it('lists both entries for a route with its own rate-limit', () => {
    assert.deepEqual(policyEntriesFor(rl, routeOf('orders')), [rl.policies[0], routeOf('orders').policies[0]]);
    assert.deepEqual(policyEntriesFor(rl, routeOf('alone')), routeOf('alone').policies);
  });

  it('enforces the gateway-wide buckets across routes, and both limits on a route with its own, in one policy', () => {
    const built = buildRoutePolicies(rl, { log: pino({ level: 'silent' }), shared: new SharedResources() });
    const policies = (name: string) => built.chainFor(routeOf(name)).policies;
    assert.equal(policies('orders').length, 1, 'one rate-limit on the route: the route\'s, holding both');
    const admitted = (name: string, tries: number) => {
      let n = 0;
      const policy = policies(name)[0]!.policy;
      for (let i = 0; i < tries; i++) if (policy.onRequest!(testExchange({ route: name })) === undefined) n++;
      return n;
    };
    assert.equal(admitted('orders', 5), 2, 'the route\'s own limit of 2');
    assert.equal(admitted('plain', 2), 2, 'the shared 5: 2 taken on orders, 2 here');
    assert.equal(admitted('plain2', 5), 1, 'one left for every inheriting route');
    assert.equal(admitted('orders', 5), 0);
    assert.equal(admitted('alone', 5), 1, 'a route that does not inherit has its own limit only');
    built.close();
  });
});
