/**
 * The per-request cost of the live statistics' latency sketch candidates, against a plain counter: run
 * `node_modules/.bin/node scripts/live-stats-microbench.ts`. Its figures are quoted in src/live/latency-sketch.ts.
 * Latencies are drawn up front from a log-normal-ish spread (0.2 ms to a few seconds) so the inserts touch
 * many bins, as real traffic does.
 */
import { DDSketch } from '@datadog/sketches-js';
import * as hdr from 'hdr-histogram-js';

const N = 2_000_000;
const ROUNDS = 5;
const values = new Float64Array(4096);
for (let i = 0; i < values.length; i++) values[i] = Math.exp(Math.log(0.2) + Math.random() * Math.log(20_000));

function measure(name: string, insert: (v: number) => void): void {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) insert(values[i & 4095]!);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name.padEnd(36)} ${(best * 1e6 / N).toFixed(1)} ns/insert`);
}

const counts = new Float64Array(8);
measure('plain counter', (v) => { counts[v > 100 ? 1 : 0]!++; });
const dd = new DDSketch({ relativeAccuracy: 0.01 });
measure('DDSketch (1% relative accuracy)', (v) => dd.accept(v));
const packed = hdr.build({ bitBucketSize: 'packed', lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
measure('HDR packed (µs, 2 digits)', (v) => packed.recordValue(Math.round(v * 1000)));
const int32 = hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
measure('HDR int32 (µs, 2 digits)', (v) => int32.recordValue(Math.round(v * 1000)));
console.log(`sizes: DDSketch bins ${dd.store.bins.length}, HDR int32 counts ${int32.estimatedFootprintInBytes} B, packed ${packed.estimatedFootprintInBytes} B`);

// The whole per-request path: the finish hook as the gateway registers it (route lookup, bucket, counters,
// one sketch insert), on a fixed coarse clock.
const { LiveStats } = await import('../src/live/live-stats.ts');
const { Exchange } = await import('../src/pipeline/exchange.ts');
const live = new LiveStats(() => 1000);
live.configure(Array.from({ length: 20 }, (_, i) => ({ name: `route-${i}`, upstream: `u${i % 4}` })));
const exchanges = Array.from({ length: 64 }, (_, i) => {
  const ex = new Exchange({ requestId: `r${i}`, method: 'GET', path: '/', query: '', headers: {}, clientIp: '127.0.0.1', start: 0, route: `route-${i % 20}` });
  ex.status = i % 16 === 0 ? 503 : 200;
  if (ex.status === 503) ex.reason = 'no_healthy_upstream';
  ex.headMs = values[i]!;
  return ex;
});
let n = 0;
measure('LiveStats.record (whole finish hook)', () => live.record(exchanges[n++ & 63]!));
