/**
 * One load run against one target with autocannon's programmatic API, and what the benchmark takes from
 * it: responses completed, wall time, exact latency percentiles and every kind of failure. The CPU time of
 * the processes being measured is read from /proc just before the load starts and just after it ends, so
 * CPU and request count cover the same window.
 *
 * autocannon's own latency histogram keeps whole milliseconds, too coarse for sub-millisecond proxies, so
 * latencies are recorded from its per-response event into a bounded array instead.
 */
import autocannon, { type Instance, type Result } from 'autocannon';
import { coreTicks, cpuTicks } from './procs.ts';

const MAX_LATENCY_SAMPLES = 1 << 21;

export interface LoadOptions {
  readonly url: string;
  /** Request headers sent with every request. */
  readonly headers?: Record<string, string>;
  readonly seconds: number;
  readonly connections: number;
  /** Processes whose CPU time is measured over the run. */
  readonly pids: readonly number[];
  /** A CPU core whose total load is measured over the run (to see what else ran on the proxy's core). */
  readonly core?: number;
}

export interface LoadResult {
  readonly responses: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU ticks used by each measured process during the run (undefined without /proc). */
  readonly cpuTicks: ReadonlyArray<number | undefined>;
  /** Busy and total ticks of `core` during the run (undefined without /proc or without `core`). */
  readonly core: { busy: number; total: number } | undefined;
  /** Failures by kind (errors, timeouts, non2xx, resets, mismatches); empty when the run was clean. */
  readonly failures: Readonly<Record<string, number>>;
  readonly statusCodes: Readonly<Record<string, number>>;
}

let current: Instance | undefined;
let latencies: Float64Array | undefined;

/** Stops the load run in progress, if any (Ctrl-C, or a process under test died). */
export function stopLoad(): void {
  current?.stop();
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples = latencies ??= new Float64Array(MAX_LATENCY_SAMPLES);
  let responses = 0;
  const before = options.pids.map(cpuTicks);
  const coreBefore = options.core === undefined ? undefined : coreTicks(options.core);
  const start = performance.now();
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.url,
      ...(options.headers ? { headers: options.headers } : {}),
      connections: options.connections,
      duration: options.seconds,
      pipelining: 1,
      timeout: 10,
    }, (err, res) => (err ? reject(err) : resolve(res)));
    current = instance;
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (responses < MAX_LATENCY_SAMPLES) samples[responses] = responseTime;
      responses++;
    });
  }).finally(() => {
    current = undefined;
  });
  const seconds = (performance.now() - start) / 1000;
  const after = options.pids.map(cpuTicks);
  const coreAfter = options.core === undefined ? undefined : coreTicks(options.core);

  const failures: Record<string, number> = {};
  for (const kind of ['errors', 'timeouts', 'non2xx', 'resets', 'mismatches'] as const) {
    if (result[kind] > 0) failures[kind] = result[kind];
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const sorted = samples.subarray(0, Math.min(responses, MAX_LATENCY_SAMPLES)).sort();
  return {
    responses,
    seconds,
    rps: responses / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuTicks: after.map((a, i) => (a === undefined || before[i] === undefined ? undefined : a - before[i])),
    core: coreBefore && coreAfter ? { busy: coreAfter.busy - coreBefore.busy, total: coreAfter.total - coreBefore.total } : undefined,
    failures,
    statusCodes,
  };
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}
