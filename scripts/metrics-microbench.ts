/**
 * The per-observation cost of the metrics' hot path (src/metrics/cells.ts quotes its figures), against
 * prom-client's own calls. Run: node_modules/.bin/node scripts/metrics-microbench.ts
 * Not a test: speed is never asserted; this prints ns per observation, best of 5 rounds.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { CellCounter, CellHistogram } from '../src/metrics/cells.ts';
import { GatewayMetrics } from '../src/metrics/gateway-metrics.ts';
import { Exchange } from '../src/pipeline/exchange.ts';
import { Gateway } from '../src/runtime/gateway.ts';
import { configSchema } from '../src/config/schema.ts';
import { createLogger } from '../src/observability/logger.ts';

const N = 2_000_000;

function measure(name: string, run: (i: number) => void): void {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) run(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / N);
  }
  console.log(`${name.padEnd(52)} ${best.toFixed(1)} ns`);
}

const registry = new Registry();
const counter = new Counter({ name: 'a_total', help: 'a', labelNames: ['route', 'method', 'status_class', 'reason'], registers: [registry] });
const child = counter.labels('api', 'GET', '2xx', 'none');
const histogram = new Histogram({ name: 'b_seconds', help: 'b', labelNames: ['route'], registers: [registry] });
const hChild = histogram.labels('api');
const cells = new CellCounter({ registry, name: 'c_total', help: 'c', labelNames: ['route', 'method', 'status_class', 'reason'] });
const cell = cells.cell({ route: 'api', method: 'GET', status_class: '2xx', reason: 'none' });
const hCells = new CellHistogram({ registry, name: 'd_seconds', help: 'd', labelNames: ['route'] });
const hCell = hCells.cell({ route: 'api' });

measure('prom-client counter.labels(4).inc() (child reused)', () => child.inc());
measure('prom-client histogram.labels(route).observe() (reused)', (i) => hChild.observe((i % 100) / 1000));
let sink = 0;
measure('performance.now() (the hook reads the clock once)', () => { sink += performance.now(); });
measure('cell inc()', () => cell.inc());
measure('cell histogram observe()', (i) => hCell.observe((i % 100) / 1000));

// The whole finish hook on a realistic exchange (route matched, upstream answered 200).
const config = configSchema.parse({ admin: { enabled: false }, log: { access: { enabled: false } }, upstreams: { u: { targets: [{ url: 'http://127.0.0.1:9' }] } }, routes: [{ name: 'api', match: { path: '/api' }, upstream: 'u' }] });
const gateway = new Gateway(config, createLogger('error'));
const metrics = new GatewayMetrics(gateway, new Registry());
const ex = new Exchange({ requestId: 'r', method: 'GET', path: '/api', query: '', headers: {}, clientIp: '127.0.0.1', route: 'api' });
ex.status = 200;
measure('GatewayMetrics.record (the finish hook, one request)', () => metrics.record(ex));
const noisy = new Exchange({ requestId: 'r', method: 'GET', path: '/x', query: '', headers: {}, clientIp: '127.0.0.1' });
noisy.status = 404;
noisy.reason = 'route_not_found';
measure('GatewayMetrics.record (no route, with a reason)', () => metrics.record(noisy));
const state = [...gateway.targets.states()][0]!;
const meter = state.meter!;
measure('the target meter alone (per attempt)', (i) => meter.attempt('response', i % 50));
measure('TargetState.record, meter and breaker included', (i) => state.record('response', 200, i % 50, 100, 200));
await gateway.close();
if (sink === 0) console.log('');
