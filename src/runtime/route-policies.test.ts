import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { configSchema } from '../config/schema.ts';
import { buildRoutePolicies, policyEntriesFor } from './route-policies.ts';
import { SharedResources } from '../leases/shared-resources.ts';

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
