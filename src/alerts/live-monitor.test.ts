/** The monitor's interval ticks only for someone: a rule to evaluate or a subscriber on /events. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { LiveStats } from '../live/live-stats.ts';
import { createLogger } from '../observability/logger.ts';
import { AlertEngine } from './alert-engine.ts';
import { LiveMonitor } from './live-monitor.ts';
import { WebhookSender } from './webhooks.ts';

const log = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function monitorWith(rules: unknown[]): { monitor: LiveMonitor; reads: () => number } {
  const config = configSchema.parse({
    upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } },
    routes: [{ name: 'r', match: { path: '/r' }, upstream: 'u' }],
    alerts: { rules },
  });
  const engine = new AlertEngine(log, new WebhookSender(log), 'test');
  engine.configure(config.alerts, config.routes);
  let reads = 0;
  const monitor = new LiveMonitor({ live: new LiveStats(() => performance.now()), engine, log, intervalMs: 10, targets: async () => { reads++; return []; } });
  return { monitor, reads: () => reads };
}

describe('LiveMonitor ticks', () => {
  it('idle without rules and subscribers, ticking once a client subscribes, idle again after it leaves', async () => {
    const { monitor, reads } = monitorWith([]);
    monitor.start();
    await sleep(60);
    assert.equal(reads(), 0, 'no rule and no subscriber: nothing read');
    const events: string[] = [];
    const unsubscribe = monitor.subscribe((e) => events.push(e.type));
    await sleep(60);
    assert.ok(reads() > 0 && events.includes('stats'), 'a subscriber gets stats');
    unsubscribe();
    const after = reads();
    await sleep(60);
    assert.ok(reads() <= after + 1, 'idle again (one tick may have been under way)');
    assert.equal(monitor.latest !== undefined, true);
    monitor.subscribe(() => {});
    assert.equal(monitor.latest, undefined, 'a new subscriber after an idle spell is not handed stale stats');
    monitor.close();
  });

  it('ticks for a rule with no subscriber', async () => {
    const { monitor, reads } = monitorWith([{ name: 'slow', signal: 'p95', route: 'r', above: '500ms' }]);
    monitor.start();
    await sleep(60);
    assert.ok(reads() > 0);
    monitor.close();
  });
});
