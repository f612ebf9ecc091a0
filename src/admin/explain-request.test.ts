import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { explainRequest, peekFresh } from './explain-request.ts';

const config = configSchema.parse({
  policies: [{ type: 'cors', origins: ['https://app.example'] }],
  upstreams: {
    pool: { balancer: 'weighted-round-robin', targets: [{ url: 'http://10.0.0.1:80', weight: 1 }, { url: 'http://10.0.0.2:80', weight: 5 }] },
    sticky: { balancer: 'consistent-hash', hashOn: 'ip', targets: [{ url: 'http://10.0.1.1:80' }, { url: 'http://10.0.1.2:80' }, { url: 'http://10.0.1.3:80' }] },
  },
  routes: [
    { name: 'api', match: { path: '/api', methods: ['GET', 'POST'] }, upstream: 'pool', stripPrefix: true, inheritPolicies: false, policies: [{ type: 'request-size-limit', maxBytes: 10 }] },
    { name: 'v2', match: { path: '/api', headers: { 'x-version': '2' } }, upstream: 'sticky' },
  ],
});

const request = (path: string, extra: Partial<Parameters<typeof explainRequest>[1]> = {}) => ({ method: 'GET', host: 'gw.example', path, headers: {}, ...extra });

describe('explainRequest', () => {
  it('finds the route the router would, with header conditions taking precedence as in the gateway', () => {
    assert.equal(explainRequest(config, request('/api/x')).route?.name, 'api');
    assert.equal(explainRequest(config, request('/api/x', { headers: { 'x-version': '2' } })).route?.name, 'v2');
  });

  it('lists only the route\'s own policies when it does not inherit', () => {
    assert.deepEqual(explainRequest(config, request('/api/x')).route?.policies.map((p) => p.type), ['request-size-limit']);
    assert.deepEqual(explainRequest(config, request('/api/x', { headers: { 'x-version': '2' } })).route?.policies.map((p) => `${p.type}:${p.from}`), ['cors:gateway']);
  });

  it('forwards the path as the gateway would: normalised, the prefix stripped, the query left out', () => {
    const e = explainRequest(config, request('/api//users/%61?q=1'));
    assert.equal(e.request.normalizedPath, '/api/users/a');
    assert.equal(e.forwardedPath, '/users/a');
  });

  it('offline: the first pick of a fresh balancer, which for weighted round-robin is the heaviest', () => {
    const e = explainRequest(config, request('/api/x'), { offline: true });
    assert.equal(e.target?.url, 'http://10.0.0.2:80');
    assert.match(e.target!.note, /^offline/);
  });

  it('with workers: the fresh balancer skips targets the merged snapshot has unavailable', () => {
    const live = new Map([['pool http://10.0.0.2:80', { available: false, inFlight: 0 }]]);
    assert.equal(explainRequest(config, request('/api/x'), { live }).target?.url, 'http://10.0.0.1:80');
    const none = new Map([...live, ['pool http://10.0.0.1:80', { available: false, inFlight: 0 }]]);
    const e = explainRequest(config, request('/api/x'), { live: none });
    assert.equal(e.target?.url, null);
    assert.match(e.target!.note, /503 no_healthy_upstream/);
  });

  it('asks the live balancer when it can, and says so when none is available', () => {
    assert.equal(explainRequest(config, request('/api/x'), { peekLive: () => 'http://10.0.0.1:80' }).target?.url, 'http://10.0.0.1:80');
    assert.equal(explainRequest(config, request('/api/x'), { peekLive: () => undefined }).target?.url, null);
    assert.equal(explainRequest(config, request('/api/x'), { peekLive: () => null, offline: true }).target?.url, 'http://10.0.0.2:80', 'null: fall back to a fresh balancer');
  });

  it('hashes the client address for hashOn: ip, the same address always to the same target', () => {
    const at = (ip: string) => explainRequest(config, request('/api', { headers: { 'x-version': '2' }, clientIp: ip }));
    assert.equal(at('192.0.2.7').upstream?.hashKey, '192.0.2.7');
    assert.equal(at('192.0.2.7').target?.url, at('192.0.2.7').target?.url);
    const spread = new Set(Array.from({ length: 40 }, (_, i) => at(`192.0.2.${i}`).target?.url));
    assert.ok(spread.size > 1, 'different addresses spread over the targets');
  });

  it('answers the gateway\'s reason when no route serves the request', () => {
    assert.equal(explainRequest(config, request('/nothing')).outcome, 'route_not_found');
    const e = explainRequest(config, request('/api', { method: 'DELETE' }));
    assert.equal(e.outcome, 'method_not_allowed');
    assert.equal(e.allow, 'GET, POST');
    assert.equal(explainRequest(config, request('/api/%2e%2e/x')).outcome, 'bad_path');
  });

  it('peekFresh answers undefined for an unknown upstream', () => {
    assert.equal(peekFresh(config, 'nope', undefined), undefined);
  });
});
