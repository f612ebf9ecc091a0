import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { alertsSchema, type AlertsConfig } from '../config/alerts-schema.ts';
import { LiveStats } from '../live/live-stats.ts';
import { createLogger } from '../observability/logger.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { TargetSnapshot } from '../runtime/snapshot.ts';
import { AlertEngine, type AlertEvent } from './alert-engine.ts';
import { RuleState } from './rule-state.ts';
import { WebhookSender } from './webhooks.ts';

const log = createLogger('silent');
const routes = [{ name: 'users', upstream: 'api' }, { name: 'files', upstream: 'static' }];

/** A gateway's traffic on a driven clock (ms since 0 = wall-clock ms). */
class Traffic {
  now = 1_700_000_000_000;
  readonly live = new LiveStats(() => this.now, 0);
  constructor() {
    this.live.configure(routes);
  }
  /** `count` requests on `route`, each with `headMs` latency and `status`. */
  send(route: string, count: number, headMs: number, status = 200): void {
    for (let i = 0; i < count; i++) {
      const ex = new Exchange({ requestId: `r${i}`, method: 'GET', path: '/', query: '', headers: {}, clientIp: '127.0.0.1', start: this.now, route });
      ex.status = status;
      ex.headMs = headMs;
      if (status === 429) ex.reason = 'rate_limited' as never;
      this.live.record(ex);
    }
  }
}

function engineFor(rules: unknown[], webhooks: unknown[] = []): { engine: AlertEngine; events: AlertEvent[] } {
  const engine = new AlertEngine(log, new WebhookSender(log), 'test-instance');
  engine.configure(alertsSchema.parse({ rules, webhooks }), routes);
  const events: AlertEvent[] = [];
  engine.subscribe((e) => events.push(e));
  return { engine, events };
}

/** Advances one second (after `traffic` runs in it) and evaluates. */
function step(engine: AlertEngine, t: Traffic, traffic: () => void = () => {}, targets: TargetSnapshot[] = []): AlertEvent[] {
  traffic();
  t.now += 1000;
  return engine.evaluate({ window: (s) => t.live.window(s, t.now), targets, now: t.now });
}

const slowRule = { name: 'users-slow', signal: 'p95', route: 'users', above: '500ms', window: '10s', for: '3s', minRequests: 5 };

describe('RuleState', () => {
  const timing = { for: 3000, keepFiringFor: 0 };
  it('goes pending when the condition holds, fires once it held for `for`, and resolves when it stops', () => {
    const s = new RuleState();
    assert.equal(s.observe('holds', 0, timing), 'pending');
    assert.equal(s.observe('holds', 2999, timing), undefined);
    assert.equal(s.state, 'pending');
    assert.equal(s.observe('holds', 3000, timing), 'firing');
    assert.equal(s.observe('holds', 9000, timing), undefined);
    assert.equal(s.observe('clear', 10_000, timing), 'resolved');
    assert.equal(s.state, 'inactive');
  });

  it('fires at once with for 0, and a pending rule that clears goes back to inactive without firing', () => {
    const s = new RuleState();
    assert.equal(s.observe('holds', 0, { for: 0, keepFiringFor: 0 }), 'firing');
    const p = new RuleState();
    p.observe('holds', 0, timing);
    assert.equal(p.observe('clear', 1000, timing), 'cleared');
    assert.equal(p.observe('holds', 2000, timing), 'pending', 'the `for` count starts again');
    assert.equal(p.observe('holds', 4999, timing), undefined);
    assert.equal(p.observe('holds', 5000, timing), 'firing');
  });

  it('keeps firing for keepFiringFor after the condition clears', () => {
    const s = new RuleState();
    const keep = { for: 0, keepFiringFor: 5000 };
    s.observe('holds', 0, keep);
    assert.equal(s.observe('clear', 1000, keep), undefined);
    assert.equal(s.observe('clear', 4999, keep), undefined);
    assert.equal(s.observe('holds', 5500, keep), undefined, 'holding again restarts the keep period');
    assert.equal(s.observe('clear', 10_499, keep), undefined);
    assert.equal(s.observe('clear', 10_500, keep), 'resolved');
  });

  it('keeps its state with too few requests, and a firing rule resolves when the window had no data', () => {
    const s = new RuleState();
    s.observe('holds', 0, { for: 0, keepFiringFor: 60_000 });
    assert.equal(s.observe('insufficient', 100_000, timing), undefined);
    assert.equal(s.state, 'firing');
    assert.equal(s.observe('nodata', 101_000, { for: 0, keepFiringFor: 60_000 }), 'resolved');
  });
});

describe('AlertEngine', () => {
  it('a latency rule over real windows: pending, firing after `for`, resolved after recovery, each once', () => {
    const t = new Traffic();
    const { engine, events } = engineFor([slowRule]);
    assert.deepEqual(step(engine, t, () => t.send('users', 10, 20)), []);
    assert.deepEqual(step(engine, t, () => t.send('users', 50, 900)).map((e) => e.state), ['pending']);
    assert.deepEqual(step(engine, t, () => t.send('users', 50, 900)), []);
    assert.deepEqual(step(engine, t, () => t.send('users', 50, 900)), []);
    const fired = step(engine, t, () => t.send('users', 50, 900));
    assert.deepEqual(fired.map((e) => e.state), ['firing']);
    assert.equal(fired[0]!.rule, 'users-slow');
    assert.ok(fired[0]!.value! > 850 && fired[0]!.value! < 950);
    assert.equal(fired[0]!.threshold, 500);
    assert.match(fired[0]!.text, /^\[FIRING\] users-slow: p95 \d+ms \(above 500ms\) on route users, warning/);
    assert.equal(engine.active()[0]!.state, 'firing');
    // Recovery: fast requests until the window's p95 drops under 500ms.
    const after: AlertEvent[] = [];
    for (let i = 0; i < 15; i++) after.push(...step(engine, t, () => t.send('users', 200, 10)));
    assert.deepEqual(after.map((e) => e.state), ['resolved']);
    assert.deepEqual(events.map((e) => e.state), ['pending', 'firing', 'resolved']);
    assert.deepEqual(engine.active(), []);
    assert.deepEqual(engine.recent().map((e) => e.state), ['resolved', 'firing', 'pending']);
  });

  it('keeps its state while the window has fewer than minRequests, and resolves once a whole window had none', () => {
    const t = new Traffic();
    const { engine } = engineFor([{ ...slowRule, for: '0s', minRequests: 20 }]);
    assert.deepEqual(step(engine, t, () => t.send('users', 30, 900)).map((e) => e.state), ['firing']);
    // Once the 30 slow requests left the window it holds only 3 fast ones: too few to say, so it stays firing.
    for (let i = 0; i < 11; i++) step(engine, t, () => (i === 5 ? t.send('users', 3, 5) : undefined));
    assert.equal(engine.active()[0]?.state, 'firing');
    const resolved: AlertEvent[] = [];
    for (let i = 0; i < 11; i++) resolved.push(...step(engine, t));
    assert.deepEqual(resolved.map((e) => e.state), ['resolved']);
  });

  it('evaluates ratios, rps and available targets', () => {
    const t = new Traffic();
    const { engine } = engineFor([
      { name: 'errors', signal: '5xx-ratio', above: '5%', window: '5s' },
      { name: 'limited', signal: 'rate-limited-ratio', upstream: 'api', above: 0.2, window: '5s' },
      { name: 'quiet', signal: 'rps', route: 'files', below: 1, window: '5s' },
      { name: 'targets', signal: 'available-targets', route: 'users', below: 2 },
    ]);
    const targets = [{ upstream: 'api', url: 'a', available: true }, { upstream: 'api', url: 'b', available: false }, { upstream: 'static', url: 'c', available: true }] as TargetSnapshot[];
    const fired = step(engine, t, () => {
      t.send('users', 90, 5);
      t.send('users', 10, 5, 502);
      t.send('users', 30, 5, 429);
    }, targets);
    assert.deepEqual(fired.map((e) => e.rule).sort(), ['errors', 'limited', 'quiet', 'targets']);
    assert.equal(fired.find((e) => e.rule === 'targets')!.value, 1);
    assert.ok(Math.abs(fired.find((e) => e.rule === 'limited')!.value! - 30 / 130) < 1e-9);
  });

  it('keeps the state of a rule whose definition a reload left unchanged, and resets one that changed', () => {
    const t = new Traffic();
    const { engine } = engineFor([slowRule, { ...slowRule, name: 'other' }]);
    step(engine, t, () => t.send('users', 50, 900));
    step(engine, t, () => t.send('users', 50, 900));
    assert.deepEqual(engine.active().map((a) => a.state), ['pending', 'pending']);
    engine.configure(alertsSchema.parse({ rules: [slowRule, { ...slowRule, name: 'other', for: '10s' }] }), routes);
    assert.deepEqual(engine.active().map((a) => a.rule), ['users-slow']);
    const events = [...step(engine, t, () => t.send('users', 50, 900)), ...step(engine, t, () => t.send('users', 50, 900))];
    assert.deepEqual(events.map((e) => `${e.rule} ${e.state}`), ['other pending', 'users-slow firing']);
  });

  it('sends firing and resolved, not pending, to the webhooks with a Slack-compatible text', async () => {
    const received: Array<Record<string, unknown>> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        received.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const t = new Traffic();
      const { engine } = engineFor([{ ...slowRule, for: '1s' }], [{ name: 'ops', url, timeout: '1s' }]);
      step(engine, t, () => t.send('users', 50, 900));
      step(engine, t, () => t.send('users', 50, 900));
      for (let i = 0; i < 11; i++) step(engine, t);
      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(received.map((r) => r.state), ['firing', 'resolved']);
      const [firing] = received;
      for (const key of ['rule', 'state', 'value', 'threshold', 'since', 'instance', 'text']) assert.ok(key in firing!, key);
      assert.equal(firing!.instance, 'test-instance');
      assert.match(String(firing!.text), /^\[FIRING\] users-slow/);
    } finally {
      server.close();
    }
  });
});

describe('alerts config', () => {
  it('takes the issue\'s example with its defaults', () => {
    const config: AlertsConfig = alertsSchema.parse({
      webhooks: [{ name: 'ops', url: 'https://hooks.example.com/T000/B000/XXXX', timeout: '2s' }],
      rules: [{ name: 'users-slow', signal: 'p95', route: 'users', above: '500ms', window: '1m', for: '30s', keepFiringFor: '0s', minRequests: 20, severity: 'warning', description: 'Users API is slow', notify: ['ops'] }],
    });
    assert.equal(config.rules[0]!.window, 60_000);
    assert.equal(config.rules[0]!.for, 30_000);
    const defaults = alertsSchema.parse({ rules: [{ name: 'r', signal: 'error-ratio', above: '5%' }] }).rules[0]!;
    assert.deepEqual([defaults.window, defaults.for, defaults.keepFiringFor, defaults.minRequests, defaults.severity], [60_000, 0, 0, 10, 'warning']);
  });

  it('refuses thresholds in the wrong unit, both or neither of above and below, and a window over an hour', () => {
    const bad = (rule: object) => alertsSchema.safeParse({ rules: [{ name: 'r', ...rule }] }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(bad({ signal: 'p95', above: 0.5 }), undefined, 'a number of ms is a duration');
    assert.match(bad({ signal: 'p95', above: '5%' })![0]!, /rules\.0\.above: invalid threshold "5%" for p95: use a duration/);
    assert.match(bad({ signal: 'error-ratio', above: '500ms' })![0]!, /use a ratio/);
    assert.match(bad({ signal: 'error-ratio', above: 1.5 })![0]!, /use a ratio/);
    assert.match(bad({ signal: 'rps', above: 1, below: 2 })![0]!, /exactly one of above or below/);
    assert.match(bad({ signal: 'rps' })![0]!, /exactly one of above or below/);
    assert.match(bad({ signal: 'rps', above: 1, window: '2h' })![0]!, /between 1s and 1h/);
    assert.match(bad({ signal: 'rps', above: 1, severity: 'page' })![0]!, /severity/);
    assert.match(bad({ signal: 'rps', above: 1, extra: 1 })![0]!, /extra/);
  });
});
