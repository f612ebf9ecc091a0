import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertEngine } from '../alerts/alert-engine.ts';
import { LiveMonitor } from '../alerts/live-monitor.ts';
import { WebhookSender } from '../alerts/webhooks.ts';
import { alertsSchema } from '../config/alerts-schema.ts';
import { LiveStats } from '../live/live-stats.ts';
import { createLogger } from '../observability/logger.ts';
import { Exchange } from '../pipeline/exchange.ts';
import { openSse } from '../../test/helpers/sse-client.ts';
import { createAdminServer } from './admin-server.ts';
import type { AdminState } from './admin-state.ts';
import { alertsResource, alertsResponse } from './alerts-resource.ts';
import { eventsResource } from './events-resource.ts';
import { listenOnLoopback } from '../../test/helpers/admin-state.ts';

const log = createLogger('silent');
/** Nothing but GET /events and GET /alerts is called here. */
const adminState = {} as AdminState;

/** A monitor over a LiveStats on a driven clock; `tick` advances one second and evaluates. */
function monitorFixture() {
  let now = 1_800_000_000_000;
  const live = new LiveStats(() => now, 0);
  live.configure([{ name: 'users', upstream: 'api' }]);
  const engine = new AlertEngine(log, new WebhookSender(log), 'i');
  engine.configure(alertsSchema.parse({ rules: [{ name: 'busy', signal: 'rps', route: 'users', above: 1, window: '1s' }] }), [{ name: 'users', upstream: 'api' }]);
  const monitor = new LiveMonitor({ live, engine, log, now: () => now, targets: async () => [] });
  const request = (status: number) => {
    const ex = new Exchange({ requestId: `r${status}`, method: 'GET', path: '/', query: '', headers: {}, clientIp: '127.0.0.1', start: now, route: 'users' });
    ex.status = status;
    ex.headMs = 5;
    live.record(ex);
  };
  return { monitor, request, tick: async () => { now += 1000; await monitor.tick(); } };
}

describe('GET /events and GET /alerts', () => {
  it('streams a stats event per tick and an alert event per transition, and lists the alerts', async () => {
    const f = monitorFixture();
    const server = createAdminServer(adminState, log, { extra: [eventsResource(f.monitor), alertsResource(f.monitor.engine)] });
    const base = await listenOnLoopback(server);
    const sse = await openSse(`${base}/events`);
    try {
      assert.equal(sse.status, 200);
      assert.equal(sse.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(sse.headers['cache-control'], 'no-store');
      for (let i = 0; i < 5; i++) f.request(i === 4 ? 503 : 200);
      await f.tick();
      for (let i = 0; i < 100 && sse.events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(sse.events.map((e) => e.event), ['alert', 'stats']);
      const stats = sse.events[1]!.data as { second: { routes: { users: { requests: number; statusClasses: object } } }; errors: Array<{ status: number }> };
      assert.equal(stats.second.routes.users.requests, 5);
      assert.deepEqual(stats.second.routes.users.statusClasses, { '2xx': 4, '5xx': 1 });
      assert.deepEqual(stats.errors.map((e) => e.status), [503]);
      const alerts = alertsResponse.parse(await (await fetch(`${base}/alerts`)).json());
      assert.deepEqual(alerts.active.map((a) => [a.rule, a.state]), [['busy', 'firing']]);
      assert.equal(alerts.recent.length, 1);
      assert.deepEqual(alerts.webhooks, {});
      // A client connecting now gets the latest stats at once.
      const late = await openSse(`${base}/events`);
      for (let i = 0; i < 100 && late.events.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(late.events[0]?.event, 'stats');
      late.close();
      await f.tick();
      for (let i = 0; i < 100 && sse.events.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(sse.events.map((e) => e.event), ['alert', 'stats', 'alert', 'stats'], 'resolved when the window had no data');
      for (let i = 0; i < 100 && f.monitor.subscribers > 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(f.monitor.subscribers, 1, 'a closed stream unsubscribes');
    } finally {
      sse.close();
      server.closeAllConnections();
      server.close();
      f.monitor.close();
    }
  });

  it('are unknown paths (404) on an admin listener without live statistics', async () => {
    const server = createAdminServer(adminState, log);
    const base = await listenOnLoopback(server);
    try {
      assert.equal((await fetch(`${base}/events`)).status, 404);
      assert.equal((await fetch(`${base}/alerts`)).status, 404);
    } finally {
      server.close();
    }
  });
});
