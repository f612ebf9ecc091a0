import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configDiff, summarize } from './diff.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';

const base = {
  listen: { host: '127.0.0.1', port: 8080 },
  upstreams: {
    users: { targets: [{ url: 'http://127.0.0.1:7001' }] },
    orders: { targets: [{ url: 'http://127.0.0.1:7002' }] },
  },
  policies: [{ type: 'cors', origins: ['https://a.example'] }],
  routes: [
    { name: 'users', match: { path: '/users' }, upstream: 'users', policies: [{ type: 'request-size-limit', maxBytes: '1MiB' }] },
    { name: 'orders', match: { path: '/orders' }, upstream: 'orders' },
  ],
} satisfies ConfigInput;

function config(edit: (input: typeof base) => unknown = (input) => input): Config {
  return configSchema.parse(edit(structuredClone(base)));
}

const none = { added: [], removed: [], changed: [] };

describe('configDiff', () => {
  it('finds nothing between two loads of the same config', () => {
    const diff = configDiff(config(), config());
    assert.deepEqual(diff, { routes: none, upstreams: none, policies: none, restart: [] });
    assert.equal(summarize(diff), 'no changes');
  });

  it('reports routes added, removed and changed by name', () => {
    const next = config((c) => ({
      ...c,
      routes: [
        { ...c.routes[0], match: { path: '/people' } },
        { name: 'health', match: { path: '/health' }, upstream: 'users' },
      ],
    }));
    const diff = configDiff(config(), next);
    assert.deepEqual(diff.routes, { added: ['health'], removed: ['orders'], changed: ['users'] });
    assert.deepEqual(diff.policies, none, 'the policies of an added or removed route come with it');
  });

  it('reports a renamed route as one removed and one added', () => {
    const diff = configDiff(config(), config((c) => ({ ...c, routes: [c.routes[0], { ...c.routes[1], name: 'orders-v2' }] })));
    assert.deepEqual(diff.routes, { added: ['orders-v2'], removed: ['orders'], changed: [] });
  });

  it('reports upstreams added, removed and changed by name', () => {
    const next = config((c) => ({
      ...c,
      upstreams: { users: { targets: [{ url: 'http://127.0.0.1:7009' }] }, stock: { targets: [{ url: 'http://127.0.0.1:7003' }] } },
      routes: [c.routes[0], { ...c.routes[1], upstream: 'stock' }],
    }));
    const diff = configDiff(config(), next);
    assert.deepEqual(diff.upstreams, { added: ['stock'], removed: ['orders'], changed: ['users'] });
    assert.deepEqual(diff.routes.changed, ['orders'], 'the route now names another upstream');
  });

  it('reports a route\'s policy changes under policies only, named ROUTE/TYPE', () => {
    const next = config((c) => ({
      ...c,
      routes: [
        { ...c.routes[0], policies: [{ type: 'request-size-limit', maxBytes: '2MiB' }] },
        { ...c.routes[1], policies: [{ type: 'ip-filter', allow: ['10.0.0.0/8'] }] },
      ],
    }));
    const diff = configDiff(config(), next);
    assert.deepEqual(diff.policies, { added: ['orders/ip-filter'], removed: [], changed: ['users/request-size-limit'] });
    assert.deepEqual(diff.routes, none);
  });

  it('reports gateway-wide policies by type', () => {
    const changed = configDiff(config(), config((c) => ({ ...c, policies: [{ type: 'cors', origins: ['https://b.example'] }] })));
    assert.deepEqual(changed.policies, { added: [], removed: [], changed: ['cors'] });
    const removed = configDiff(config(), config((c) => ({ ...c, policies: [] })));
    assert.deepEqual(removed.policies, { added: [], removed: ['cors'], changed: [] });
    assert.equal(summarize(removed), '1 policy removed');
  });

  it('does not report a policy moved to another place in the same list', () => {
    const two = (c: typeof base, order: 'ab' | 'ba') => {
      const a = { type: 'cors', origins: ['https://a.example'] };
      const b = { type: 'request-size-limit', maxBytes: '1KiB' };
      return { ...c, policies: order === 'ab' ? [a, b] : [b, a] };
    };
    assert.deepEqual(configDiff(config((c) => two(c, 'ab')), config((c) => two(c, 'ba'))).policies, none);
  });

  it('lists restart-only settings only when their value differs', () => {
    const moved = config((c) => ({ ...c, listen: { ...c.listen, port: 9090 }, workers: 2, admin: { port: 9902 } }));
    assert.deepEqual(configDiff(config(), moved).restart, ['listen', 'admin', 'workers']);
    assert.deepEqual(configDiff(moved, config()).restart, ['listen', 'admin', 'workers']);
    const header = config((c) => ({ ...c, server: { maxHeaderSize: '32KiB' } }));
    assert.deepEqual(configDiff(config(), header).restart, ['server.maxHeaderSize']);
    const sameValue = config((c) => ({ ...c, server: { maxHeaderSize: '16KiB' }, admin: { port: 9901 } }));
    assert.deepEqual(configDiff(config(), sameValue).restart, [], 'defaults written out are the same value');
  });

  it('tells a TLS change from another listen change', () => {
    // The schema only checks that the files exist; the diff never reads them.
    const tls = { cert: fileURLToPath(import.meta.url), key: fileURLToPath(import.meta.url) };
    const withTls = config((c) => ({ ...c, listen: { ...c.listen, tls } }));
    assert.deepEqual(configDiff(config(), withTls).restart, ['listen.tls']);
    const both = config((c) => ({ ...c, listen: { host: '0.0.0.0', port: 8080, tls } }));
    assert.deepEqual(configDiff(config(), both).restart, ['listen', 'listen.tls']);
  });

  it('summarizes counts with plurals in a fixed order', () => {
    const next = config((c) => ({
      ...c,
      upstreams: { ...c.upstreams, a: { targets: [{ url: 'http://127.0.0.1:1' }] }, b: { targets: [{ url: 'http://127.0.0.1:2' }] } },
      routes: [c.routes[0]],
      policies: [],
    }));
    assert.equal(summarize(configDiff(config(), next)), '1 route removed, 2 upstreams added, 1 policy removed');
  });
});
