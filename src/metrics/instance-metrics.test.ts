/**
 * The primary's merge of its own registry with the workers' (the real prom-client JSON each worker sends):
 * counters sum and survive a worker's death, gauges merge the way they declare, the primary's own series
 * are there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { CellCounter } from './cells.ts';
import { InstanceMetrics } from './instance-metrics.ts';
import { ReloadMetrics } from './process-metrics.ts';
import { sample } from '../../test/helpers/prometheus.ts';

/** A worker's registry: a request counter, an in-flight gauge (sum) and an availability gauge (max). */
function worker(requests: number, inFlight: number, available: boolean) {
  const registry = new Registry();
  const counter = new CellCounter({ registry, name: 'gatehouse_requests_total', help: 'r', labelNames: ['route'] });
  const cell = counter.cell({ route: 'api' });
  for (let i = 0; i < requests; i++) cell.inc();
  new Gauge({ name: 'gatehouse_in_flight_requests', help: 'f', registers: [registry], aggregator: 'sum' }).set(inFlight);
  new Gauge({ name: 'gatehouse_target_available', help: 'a', labelNames: ['target'], registers: [registry], aggregator: 'max' }).set({ target: 't' }, available ? 1 : 0);
  return { registry, cell };
}

describe('instance metrics (workers merged in the primary)', () => {
  it('sums counters and in-flight, takes the max of availability, and includes the primary', async () => {
    const primary = new Registry();
    new ReloadMetrics(primary).record('success');
    const merged = new InstanceMetrics<string>();
    const a = worker(3, 1, true);
    const b = worker(4, 2, true);
    merged.update('a', await a.registry.getMetricsAsJSON());
    merged.update('b', await b.registry.getMetricsAsJSON());
    const text = await merged.text(primary);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="api"'), 7);
    assert.equal(sample(text, 'gatehouse_in_flight_requests', ''), 3);
    assert.equal(sample(text, 'gatehouse_target_available', 'target="t"'), 1, 'one available target reads 1, not 2');
    assert.equal(sample(text, 'gatehouse_config_reloads_total', 'result="success"'), 1);
  });

  it('availability reads 1 when any worker may send the target traffic', async () => {
    const merged = new InstanceMetrics<string>();
    merged.update('a', await worker(0, 0, false).registry.getMetricsAsJSON());
    merged.update('b', await worker(0, 0, true).registry.getMetricsAsJSON());
    assert.equal(sample(await merged.text(new Registry()), 'gatehouse_target_available', 'target="t"'), 1);
  });

  it('keeps a dead worker\'s counters (never going back) and drops its gauges', async () => {
    const merged = new InstanceMetrics<string>();
    const a = worker(5, 2, true);
    const b = worker(1, 1, true);
    merged.update('a', await a.registry.getMetricsAsJSON());
    merged.update('b', await b.registry.getMetricsAsJSON());
    assert.equal(sample(await merged.text(new Registry()), 'gatehouse_requests_total', 'route="api"'), 6);
    merged.retire('a');
    // The replacement starts from zero.
    const c = worker(0, 0, true);
    merged.update('c', await c.registry.getMetricsAsJSON());
    let text = await merged.text(new Registry());
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="api"'), 6);
    assert.equal(sample(text, 'gatehouse_in_flight_requests', ''), 1, 'the dead worker\'s in-flight is gone');
    c.cell.inc();
    merged.update('c', await c.registry.getMetricsAsJSON());
    // Deaths fold into one retired part; the counts still add up.
    merged.retire('b');
    merged.retire('c');
    text = await merged.text(new Registry());
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="api"'), 7);
    assert.equal(merged.workers, 0);
    assert.equal(sample(await merged.text(new Registry()), 'gatehouse_requests_total', 'route="api"'), 7);
  });
});
