/**
 * Alert rules end to end: the real gateway process code (runGateway, in this process, with its admin
 * listener), a real upstream made slow on purpose, a real webhook receiver, and /events read as a stream.
 * Windows and `for` are a few seconds so the rule's life fits in a test; the order of states and the
 * exact counts are asserted, never how long a step took.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { configSchema, type Config } from '../../src/config/schema.ts';
import { loadConfigText } from '../../src/config/load.ts';
import { configFileHints, type ConfigSource } from '../../src/process/config-source.ts';
import { runGateway, type GatewayProcess } from '../../src/process/supervisor.ts';
import { startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { openSse } from '../helpers/sse-client.ts';
import type { StatsEvent } from '../../src/alerts/live-monitor.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
after(() => agent.destroy());

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Sends requests from `loops` clients until `stop()` says so (at most `maxMs`); returns the statuses. */
async function traffic(url: string, stop: () => boolean, maxMs: number, loops = 4): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = Date.now() + maxMs;
  await Promise.all(Array.from({ length: loops }, async () => {
    while (!stop() && Date.now() < deadline) statuses.push((await get(url)).status);
  }));
  return statuses;
}

function config(upstream: string, webhook: string, rule: Record<string, unknown>, timeout = '1s'): Config {
  return configSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info', access: { enabled: false } },
    upstreams: { api: { targets: [{ url: upstream }] } },
    routes: [{ name: 'users', match: { path: '/users' }, upstream: 'api' }],
    alerts: { webhooks: [{ name: 'ops', url: webhook, timeout }], rules: [rule] },
  });
}

interface Started {
  readonly gateway: GatewayProcess;
  readonly logLines: Array<Record<string, unknown>>;
  setConfig(next: Config): void;
}

async function start(first: Config): Promise<Started> {
  let current = first;
  const source: ConfigSource = { file: undefined, hints: configFileHints, load: async () => ({ ok: true, config: current }), parse: (text) => loadConfigText(text, 'test.yaml') };
  const logLines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  const gateway = await runGateway(source, log, false);
  return { gateway, logLines, setConfig: (next) => (current = next) };
}

/** A webhook receiver that records each JSON body and answers 200. */
async function receiver(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const hook = await startUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => {
      bodies.push(JSON.parse(body));
      res.end('ok');
    });
  });
  return { url: `${hook.url}/hook`, bodies, close: () => hook.close() };
}

describe('alert rules, end to end', () => {
  it('a slow upstream: the latency rule goes pending, fires once, and resolves once after recovery, on /events, /alerts, the log and the webhook', async () => {
    let slowMs = 0;
    const upstream: FakeUpstream = await startUpstream((_req, res) => void setTimeout(() => res.end('ok'), slowMs));
    const hook = await receiver();
    const rule = { name: 'users-slow', signal: 'p95', route: 'users', above: '150ms', window: '2s', for: '2s', minRequests: 3, description: 'Users API is slow', notify: ['ops'] };
    const { gateway, logLines } = await start(config(upstream.url, hook.url, rule));
    const sse = await openSse(`${gateway.adminUrl}/events`);
    const alertStates = () => sse.events.filter((e) => e.event === 'alert').map((e) => (e.data as { state: string }).state);
    try {
      assert.equal(sse.status, 200);
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
      const url = `${gateway.url}/users/1`;
      await traffic(url, () => false, 1500);
      assert.deepEqual(alertStates(), [], 'fast traffic fires nothing');

      slowMs = 300;
      const slow = await traffic(url, () => hook.bodies.length >= 1, 15_000);
      assert.ok(slow.every((s) => s === 200));
      await until(() => hook.bodies.length >= 1, 5000, 'the firing notification');
      assert.deepEqual(alertStates(), ['pending', 'firing']);
      const alerts = JSON.parse((await get(`${gateway.adminUrl}/alerts`)).body);
      assert.equal(alerts.active.length, 1);
      assert.deepEqual(Object.keys(alerts.active[0]).sort(), ['rule', 'severity', 'signal', 'since', 'state', 'threshold', 'value']);
      assert.equal(alerts.active[0].state, 'firing');
      assert.deepEqual(alerts.recent.map((t: { state: string }) => t.state), ['firing', 'pending']);

      slowMs = 0;
      await traffic(url, () => hook.bodies.length >= 2, 15_000);
      await until(() => hook.bodies.length >= 2, 5000, 'the resolved notification');
      // A while longer, with traffic: nothing more may arrive.
      await traffic(url, () => false, 2500);
      assert.deepEqual(hook.bodies.map((b) => b.state), ['firing', 'resolved']);
      const [firing, resolved] = hook.bodies;
      assert.equal(firing!.rule, 'users-slow');
      assert.ok((firing!.value as number) > 150, String(firing!.value));
      assert.equal(firing!.threshold, 150);
      assert.ok(typeof firing!.since === 'string' && typeof firing!.instance === 'string');
      assert.match(String(firing!.text), /^\[FIRING\] users-slow: p95 \d+ms \(above 150ms\) on route users, warning — Users API is slow$/);
      assert.match(String(resolved!.text), /^\[RESOLVED\] users-slow/);
      assert.deepEqual(alertStates(), ['pending', 'firing', 'resolved']);
      const transitions = logLines.filter((l) => l.rule === 'users-slow' && /^\[(FIRING|RESOLVED)\]/.test(String(l.msg)));
      assert.deepEqual(transitions.map((l) => l.state), ['firing', 'resolved'], 'one log line each');
      assert.equal(logLines.filter((l) => l.msg === 'alert webhook delivered').length, 2);

      const stats = sse.events.filter((e) => e.event === 'stats');
      assert.ok(stats.length >= 5, `one stats event a second (${stats.length})`);
      const last = stats.at(-1)!.data as StatsEvent;
      assert.deepEqual(Object.keys(last).sort(), ['alerts', 'errors', 'minute', 'second', 'targets', 'time']);
      assert.ok(last.minute.overall.requests > 0);
      assert.ok(last.minute.routes.users!.requests > 0);
      assert.ok(last.minute.upstreams.api!.requests === last.minute.routes.users!.requests);
      assert.ok(stats.some((e) => ((e.data as StatsEvent).second.upstreams.api?.p50 ?? 0) > 150), 'the slow seconds show in the upstream\'s p50');
      assert.deepEqual(Object.keys(last.minute.overall).sort(), ['errorRatio', 'p50', 'p95', 'p99', 'rateLimited', 'reasons', 'requests', 'rps', 'serverErrorRatio', 'statusClasses']);
      assert.equal(last.targets[0]!.upstream, 'api');
      assert.equal(last.targets[0]!.available, true);
    } finally {
      sse.close();
      await gateway.shutdown();
      await upstream.close();
      await hook.close();
    }
  });

  it('a receiver that accepts connections and never answers holds no request: requests keep completing while deliveries time out', async () => {
    const held: net.Socket[] = [];
    const blackHole = net.createServer((socket) => void held.push(socket));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}/hook`;
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    const rule = { name: 'busy', signal: 'rps', above: 1, window: '1s' };
    const { gateway, logLines } = await start(config(upstream.url, hookUrl, rule, '300ms'));
    const webhookCounts = async () => JSON.parse((await get(`${gateway.adminUrl}/alerts`)).body).webhooks.ops as { failedAttempts: number; delivered: number };
    try {
      await traffic(`${gateway.url}/users`, () => held.length >= 1, 10_000, 2);
      await until(() => held.length >= 1, 5000, 'a delivery connection');
      const during = await traffic(`${gateway.url}/users`, () => false, 1000, 2);
      assert.ok(during.length > 20 && during.every((s) => s === 200), `requests completed while the receiver held a delivery (${during.length})`);
      let failed = 0;
      for (let i = 0; i < 40 && failed < 2; i++) {
        await traffic(`${gateway.url}/users`, () => false, 250, 2);
        failed = (await webhookCounts()).failedAttempts;
      }
      assert.ok(failed >= 2, `delivery attempts timed out (${failed})`);
      assert.equal((await webhookCounts()).delivered, 0);
      assert.equal(logLines.filter((l) => l.msg?.toString().startsWith('[FIRING] busy')).length, 1);
    } finally {
      await gateway.shutdown();
      for (const s of held) s.destroy();
      blackHole.close();
      await upstream.close();
    }
  });

  it('a reload keeps a firing rule firing when its definition did not change', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    const hook = await receiver();
    const rule = { name: 'busy', signal: 'rps', above: 1, window: '2s' };
    const first = config(upstream.url, hook.url, rule);
    const { gateway, setConfig } = await start(first);
    try {
      await traffic(`${gateway.url}/users`, () => hook.bodies.length >= 1, 10_000, 2);
      await until(() => hook.bodies.length >= 1, 5000, 'the firing notification');
      setConfig(configSchema.parse({ ...first, routes: [...first.routes, { name: 'more', match: { path: '/more' }, upstream: 'api' }] }));
      assert.equal(await gateway.reload(), true);
      await traffic(`${gateway.url}/users`, () => false, 2500, 2);
      assert.deepEqual(hook.bodies.map((b) => b.state), ['firing'], 'no second firing after the reload');
      const alerts = JSON.parse((await get(`${gateway.adminUrl}/alerts`)).body);
      assert.equal(alerts.active[0]?.state, 'firing');
    } finally {
      await gateway.shutdown();
      await upstream.close();
      await hook.close();
    }
  });
});
