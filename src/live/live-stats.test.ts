import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Exchange } from '../pipeline/exchange.ts';
import type { Reason } from '../observability/reasons.ts';
import { Bucket } from './bucket.ts';
import { LatencySketch, SKETCH_RELATIVE_ERROR } from './latency-sketch.ts';
import { LiveStats } from './live-stats.ts';
import { WindowRing } from './window-ring.ts';

/** A driven clock: performance-style ms with origin 0, so wall-clock ms equal clock ms. */
function clock(startMs = 1_000_000_000) {
  let now = startMs;
  return { now: () => now, set: (ms: number) => { now = ms; }, add: (ms: number) => { now += ms; } };
}

function exchange(fields: { route?: string; status: number; reason?: Reason; headMs?: number; start?: number; requestId?: string }): Exchange {
  const ex = new Exchange({ requestId: fields.requestId ?? 'r1', method: 'GET', path: '/x', query: '', headers: {}, clientIp: '127.0.0.1', start: fields.start ?? 0, route: fields.route });
  ex.status = fields.status;
  ex.reason = fields.reason;
  ex.headMs = fields.headMs;
  return ex;
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('LatencySketch', () => {
  it('answers p50, p95 and p99 within its relative error of the exact values, and merged sketches answer like one', () => {
    const values: number[] = [];
    const parts = [new LatencySketch(), new LatencySketch(), new LatencySketch()];
    let seed = 7;
    for (let i = 0; i < 30_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const v = Math.exp(Math.log(0.3) + (seed / 2 ** 31) * Math.log(10_000));
      values.push(v);
      parts[i % 3]!.add(v);
    }
    const merged = new LatencySketch();
    for (const p of parts) merged.merge(p);
    const viaEncoding = new LatencySketch();
    for (const p of parts) viaEncoding.mergeEncoded(p.encode());
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = exactQuantile(values, q);
      for (const sketch of [merged, viaEncoding]) {
        const got = sketch.quantile(q);
        assert.ok(Math.abs(got - exact) <= exact * SKETCH_RELATIVE_ERROR * 1.01, `q${q}: ${got} vs exact ${exact}`);
      }
    }
    assert.equal(merged.count, 30_000);
    assert.equal(viaEncoding.count, 30_000);
  });

  it('is 0 when empty, and counts a zero latency', () => {
    const s = new LatencySketch();
    assert.equal(s.quantile(0.99), 0);
    s.add(0);
    assert.equal(s.count, 1);
    assert.equal(s.quantile(0.5), 0);
  });
});

describe('WindowRing', () => {
  it('sums exactly the seconds of a window, and drops what left it', () => {
    const ring = new WindowRing();
    const t0 = 50_000;
    for (let s = 0; s < 30; s++) ring.at(t0 + s).record(200, undefined, 1);
    const sum = new Bucket();
    ring.settle(t0 + 30);
    ring.sum(sum, t0 + 20, t0 + 29);
    assert.equal(sum.requests, 10);
    const later = new Bucket();
    ring.settle(t0 + 200);
    ring.sum(later, t0 + 140, t0 + 199);
    assert.equal(later.requests, 0);
  });

  it('keeps an hour in minutes: a 1h window still counts seconds that left the second ring', () => {
    const ring = new WindowRing();
    const t0 = 60 * 10_000;
    for (let s = 0; s < 600; s++) ring.at(t0 + s).record(500, 'upstream_reset', 2);
    ring.settle(t0 + 600);
    const hour = new Bucket();
    ring.sum(hour, t0 + 600 - 3600, t0 + 599);
    assert.equal(hour.requests, 600);
    assert.equal(hour.reasonCount('upstream_reset'), 600);
    assert.equal(hour.classes[4], 600);
    const minute = new Bucket();
    ring.sum(minute, t0 + 540, t0 + 599);
    assert.equal(minute.requests, 60);
    ring.settle(t0 + 600 + 7200);
    assert.equal(ring.requests, 0, 'everything older than an hour is gone');
  });
});

describe('LiveStats', () => {
  const routes = [{ name: 'users', upstream: 'api' }, { name: 'orders', upstream: 'api' }, { name: 'static', upstream: 'files' }];

  it('counts per route, per upstream and overall, with status classes, reasons and latency', () => {
    const c = clock();
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    for (let i = 0; i < 10; i++) live.record(exchange({ route: 'users', status: 200, headMs: 100 }));
    for (let i = 0; i < 5; i++) live.record(exchange({ route: 'orders', status: 502, reason: 'upstream_reset' }));
    live.record(exchange({ route: 'static', status: 200, headMs: 3 }));
    live.record(exchange({ status: 404, reason: 'route_not_found' }));
    c.add(1000);
    const w = live.window(10);
    assert.equal(w.overall.requests, 17);
    assert.equal(w.routes.get('users')!.requests, 10);
    assert.equal(w.upstreams.get('api')!.requests, 15);
    assert.equal(w.upstreams.get('api')!.classes[4], 5);
    assert.equal(w.upstreams.get('files')!.requests, 1);
    assert.equal(w.overall.reasonCount('route_not_found'), 1);
    const p50 = w.routes.get('users')!.latency.quantile(0.5);
    assert.ok(Math.abs(p50 - 100) <= 1, String(p50));
  });

  it('leaves the current second out of a window until it is complete', () => {
    const c = clock();
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    live.record(exchange({ route: 'users', status: 200, headMs: 1 }));
    assert.equal(live.window(60).overall.requests, 0);
    c.add(1000);
    assert.equal(live.window(60).overall.requests, 1);
  });

  it('measures time to the head, or to finish for the gateway\'s own answers, and none for a client that left first', () => {
    const c = clock(5000);
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    live.record(exchange({ route: 'users', status: 101, headMs: 4, start: 1000 }));
    live.record(exchange({ route: 'orders', status: 401, reason: 'token_missing', start: 4990 }));
    live.record(exchange({ route: 'static', status: 499, reason: 'client_aborted', start: 0 }));
    c.add(1000);
    const w = live.window(5);
    assert.ok(Math.abs(w.routes.get('users')!.latency.quantile(0.99) - 4) < 0.1, 'an upgrade counts to its 101, not its lifetime');
    assert.ok(Math.abs(w.routes.get('orders')!.latency.quantile(0.5) - 10) < 0.2);
    assert.equal(w.routes.get('static')!.latency.count, 0);
    assert.equal(w.routes.get('static')!.requests, 1);
  });

  it('keeps the latest errors in a bounded tail, newest first', () => {
    const c = clock();
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    for (let i = 0; i < 150; i++) live.record(exchange({ route: 'orders', status: 503, reason: 'no_healthy_upstream', requestId: `r${i}` }));
    live.record(exchange({ route: 'users', status: 200, headMs: 1 }));
    live.record(exchange({ route: 'users', status: 204, reason: 'cors_preflight' }));
    const latest = live.errors.latest();
    assert.equal(latest.length, 100);
    assert.equal(latest[0]!.requestId, 'r149');
    assert.deepEqual({ ...latest[0]!, time: 0 }, { time: 0, requestId: 'r149', route: 'orders', status: 503, reason: 'no_healthy_upstream' });
  });

  it('merges workers\' exports into the primary\'s windows, each second once', () => {
    const c = clock();
    const workers = [new LiveStats(c.now, 0), new LiveStats(c.now, 0)];
    const primary = new LiveStats(c.now, 0);
    for (const l of [...workers, primary]) l.configure(routes);
    for (let s = 0; s < 3; s++) {
      workers.forEach((w, i) => {
        for (let n = 0; n <= i; n++) w.record(exchange({ route: 'users', status: 200, headMs: 10 * (i + 1) }));
        w.record(exchange({ status: 500, reason: 'internal_error' }));
      });
      c.add(500);
      for (const w of workers) primary.mergeExport(w.exportCompleted());
      c.add(500);
      for (const w of workers) primary.mergeExport(w.exportCompleted());
    }
    const w = primary.window(10);
    assert.equal(w.routes.get('users')!.requests, 9);
    assert.equal(w.overall.requests, 15);
    assert.equal(w.overall.latency.count, 15, 'the gateway\'s own 500s have a latency too');
    assert.ok(Math.abs(w.routes.get('users')!.latency.quantile(0.99) - 20) < 0.3);
    assert.equal(primary.errors.latest().length, 6);
  });

  it('drops the windows of a route a reload removed, and keeps those of routes that stay', () => {
    const c = clock();
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    live.record(exchange({ route: 'users', status: 200, headMs: 1 }));
    live.record(exchange({ route: 'static', status: 200, headMs: 1 }));
    live.configure([{ name: 'users', upstream: 'api' }]);
    c.add(1000);
    const w = live.window(60);
    assert.equal(w.routes.get('users')!.requests, 1);
    assert.equal(w.routes.has('static'), false);
    assert.equal(w.overall.requests, 2, 'its requests still count overall');
    assert.equal(live.keys, 2);
  });

  it('records a request without allocating per request once a second\'s bucket exists (memory does not grow)', () => {
    const c = clock();
    const live = new LiveStats(c.now, 0);
    live.configure(routes);
    const ex = exchange({ route: 'users', status: 200, headMs: 12 });
    for (let i = 0; i < 1000; i++) live.record(ex);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200_000; i++) live.record(ex);
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 8_000_000, `heap grew ${grown} bytes over 200k records`);
  });
});
