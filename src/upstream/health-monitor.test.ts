import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Logger } from '../observability/logger.ts';
import { startUpstream, until, type FakeUpstream } from '../../test/helpers/fake-upstream.ts';
import { HealthMonitor, type HealthChange } from './health-monitor.ts';
import type { TargetEvent } from './target-events.ts';
import { upstreamSchema, type UpstreamConfig } from './upstream-schema.ts';

/** A logger that keeps the messages it was given, by level. */
function recordingLog(): { log: Logger; lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (_fields: unknown, message: string) => void lines.push([level, message]);
  return { log: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger, lines };
}

let status = 200;
let upstream: FakeUpstream;
let monitor: HealthMonitor | undefined;

before(async () => {
  upstream = await startUpstream((_req, res) => void res.writeHead(status).end());
});
afterEach(async () => {
  await monitor?.close();
  monitor = undefined;
  status = 200;
});
after(async () => {
  await upstream.close();
});

function upstreams(healthCheck: Record<string, unknown> | undefined, url = upstream.url): Record<string, UpstreamConfig> {
  return { u: upstreamSchema.parse({ targets: [{ url }], ...(healthCheck ? { healthCheck } : {}) }) };
}

function start(): { changes: HealthChange[]; events: TargetEvent[]; lines: Array<[string, string]> } {
  const { log, lines } = recordingLog();
  const changes: HealthChange[] = [];
  monitor = new HealthMonitor(log, (change) => changes.push(change));
  const events: TargetEvent[] = [];
  monitor.events.on((e) => events.push(e));
  return { changes, events, lines };
}

// Failing checks answer 503 at once: the timeout only has to outlast a busy machine.
const FAST = { interval: '20ms', timeout: '5s', unhealthyAfter: 2, healthyAfter: 2 };

describe('HealthMonitor', () => {
  it('reports a target down after unhealthyAfter failed checks and up after healthyAfter passes, each once', async () => {
    const { changes, events, lines } = start();
    monitor!.update(upstreams(FAST));
    assert.equal(monitor!.size, 1);
    await until(() => upstream.received.length >= 2, 2000, 'two checks');
    assert.deepEqual(changes, [], 'healthy from the start: passing checks change nothing');
    status = 503;
    await until(() => changes.length === 1, 2000, 'the target to go down');
    assert.deepEqual(changes[0], { upstream: 'u', url: upstream.url, healthy: false, why: 'after 2 failed checks (status 503)' });
    assert.deepEqual(monitor!.down().map((c) => [c.url, c.healthy]), [[upstream.url, false]]);
    status = 200;
    await until(() => changes.length === 2, 2000, 'the target to come back');
    assert.deepEqual(changes[1], { upstream: 'u', url: upstream.url, healthy: true, why: 'after 2 passed checks' });
    assert.deepEqual(events.map((e) => [e.kind, e.state, e.upstream, e.url]), [['health', 'down', 'u', upstream.url], ['health', 'up', 'u', upstream.url]]);
    assert.ok(events.every((e) => typeof e.time === 'number' && e.time > 0));
    assert.deepEqual(lines, [
      ['warn', `target ${upstream.url} of u: down after 2 failed checks (status 503)`],
      ['info', `target ${upstream.url} of u: up after 2 passed checks`],
    ]);
  });

  it('checks the path under the target URL\'s own path', async () => {
    start();
    const before = upstream.received.length;
    monitor!.update(upstreams({ ...FAST, path: '/status' }, `${upstream.url}/base/`));
    await until(() => upstream.received.length > before, 2000, 'a check');
    assert.equal(upstream.received.at(-1)?.url, '/base/status');
  });

  it('keeps a down target down across an update with the same healthCheck', async () => {
    const { changes } = start();
    monitor!.update(upstreams(FAST));
    status = 503;
    await until(() => changes.length === 1, 2000, 'the target to go down');
    monitor!.update(upstreams(FAST));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(changes.length, 1);
    assert.equal(monitor!.down().length, 1);
  });

  it('starts again from healthy, reporting it up, when the healthCheck changes or goes', async () => {
    const { changes } = start();
    monitor!.update(upstreams(FAST));
    status = 503;
    await until(() => changes.length === 1, 2000, 'the target to go down');
    monitor!.update(upstreams({ ...FAST, unhealthyAfter: 50 }));
    assert.deepEqual(changes[1], { upstream: 'u', url: upstream.url, healthy: true, why: 'after its health check changed or ended' });
    assert.equal(monitor!.down().length, 0);
    await until(() => changes.length === 1 || changes.length === 2, 100, 'nothing more');
    monitor!.update(upstreams(undefined));
    assert.equal(monitor!.size, 0);
    assert.equal(changes.length, 2, 'it was up already: removing its checks reports nothing');
  });

  it('stops checking on close', async () => {
    start();
    monitor!.update(upstreams(FAST));
    await until(() => upstream.received.length > 0, 2000, 'a check');
    await monitor!.close();
    const seen = upstream.received.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(upstream.received.length, seen);
    assert.equal(monitor!.size, 0);
  });
});
