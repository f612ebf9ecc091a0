/**
 * A fake AdminState over a real validated config, for the admin listener's unit tests: the running config,
 * snapshot, readiness and reload result can be changed by the test; apply() swaps the running config.
 */
import { loadConfigText } from '../../src/config/load.ts';
import { configSchema, type Config } from '../../src/config/schema.ts';
import type { AdminState, ReloadResult } from '../../src/admin/admin-state.ts';
import type { GatewaySnapshot } from '../../src/runtime/snapshot.ts';
import type http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { createAdminServer, type AdminOptions } from '../../src/admin/admin-server.ts';
import { createLogger } from '../../src/observability/logger.ts';

export const TOKEN = 'test-admin-token-0123456789';

export const adminTestConfig: Config = configSchema.parse({
  admin: { token: TOKEN },
  policies: [{ type: 'cors', origins: ['https://app.example'] }],
  upstreams: {
    users: { targets: [{ url: 'http://127.0.0.1:7001' }, { url: 'http://127.0.0.1:7002', weight: 2 }] },
    keyed: { balancer: 'consistent-hash', hashOn: 'header:x-user', targets: [{ url: 'http://127.0.0.1:7003' }, { url: 'http://127.0.0.1:7004' }] },
  },
  routes: [
    { name: 'users', match: { host: 'api.example.com', path: '/users', methods: ['GET'] }, upstream: 'users', stripPrefix: true, policies: [{ type: 'request-size-limit', maxBytes: '1MB' }] },
    { name: 'keyed', match: { path: '/keyed' }, upstream: 'keyed' },
  ],
});

export const adminTestSnapshot: GatewaySnapshot = {
  workers: 1, requests: 40, inFlight: 1, statusClasses: { '2xx': 39, '5xx': 1 }, reasons: { upstream_connect_failure: 1 },
  // sinceMs: a field the schema does not know yet, which GET /upstreams must pass through.
  targets: [{ upstream: 'users', url: 'http://127.0.0.1:7001', inFlight: 1, available: false, healthy: true, breaker: 'open', attempts: 40, failures: 1, latencyEwmaMs: 2.5, sinceMs: 1200 } as GatewaySnapshot['targets'][number]],
};

export interface FakeAdmin {
  readonly state: AdminState;
  ready: boolean;
  snapshotOf: () => Promise<GatewaySnapshot>;
  running: Config;
  applied: Config[];
  reloadResult: ReloadResult;
}

export function fakeAdmin(): FakeAdmin {
  const fake: FakeAdmin = {
    ready: true,
    snapshotOf: async () => adminTestSnapshot,
    running: adminTestConfig,
    applied: [],
    reloadResult: { ok: true, trigger: 'admin', at: new Date(0).toISOString(), summary: 'no changes', errors: [] },
    state: {
      ready: () => fake.ready,
      snapshot: () => fake.snapshotOf(),
      config: () => fake.running,
      workers: () => 1,
      startedAt: Date.now() - 5000,
      configFile: '/etc/gatehouse/gatehouse.yaml',
      lastReload: () => fake.reloadResult,
      reload: async () => fake.reloadResult,
      check: (text) => loadConfigText(text, '<request body>', { GATEHOUSE_ADMIN_TOKEN: TOKEN }),
      apply: async (next) => {
        fake.applied.push(next);
        fake.running = next;
        return { ok: true, trigger: 'admin-config', at: new Date().toISOString(), summary: 'applied', errors: [] };
      },
      peekTarget: (upstream) => (upstream === 'users' ? 'http://127.0.0.1:7002' : null),
    },
  };
  return fake;
}

/** Starts `server` on a free loopback port; resolves with its base URL. */
export async function listenOnLoopback(server: http.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The admin listener a test file calls: started on a free loopback port before the file's tests (`started`
 * gets its base URL) and closed after them.
 */
export function adminServerPerFile(state: AdminState, options: AdminOptions, started: (base: string) => void): void {
  let server: http.Server | undefined;
  before(async () => {
    server = createAdminServer(state, createLogger('silent'), options);
    started(await listenOnLoopback(server));
  });
  after(() => server?.close());
}
