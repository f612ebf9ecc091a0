/**
 * Counters and histograms whose observation is a field increment on a cell bound in advance, with
 * prom-client doing everything else (registration, HELP/TYPE, text format, JSON for the workers' merge).
 *
 * Why not prom-client's own children: `counter.labels(...)` only binds the label object, and every `inc()`
 * through it still validates the labels, hashes them into a string key and looks that key up; a histogram's
 * `observe()` does the same and then walks its bounds through an object keyed by the bound. Here a cell is
 * bound once per label combination (the caller keeps it in an array or Map), and an observation is
 * `cell.value++` or a short loop over a Float64Array. The prom-client metric reads the cells when scraped.
 *
 * Micro-benchmark (scripts/metrics-microbench.ts: Node 24, best of 5 rounds of 2M, on this 2-core machine
 * while other builds ran, load 12-18, so read the ratios more than the figures; ranges over 4 runs):
 * prom-client's reused children cost ~500-800 ns for `counter.labels(route, method, class, reason).inc()`
 * and ~340-850 ns for `histogram.labels(route).observe()`; a cell `inc()` ~4-7 ns and a cell histogram
 * `observe()` ~17-24 ns. The whole finish hook (GatewayMetrics.record: a clock read, a Map hit, one inc,
 * one observe, two compares) ~75-180 ns, about half of it the performance.now() read (~75-170 ns alone
 * here; finish now reads the clock once, as Exchange.end, for the access log and every hook, so the
 * hook no longer pays it); the target meter ~26 ns an attempt. With prom-client's calls the same work was
 * ~1.1-1.6 us.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

export class CounterCell {
  value = 0;
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  inc(): void {
    this.value++;
  }
}

export class HistogramCell {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly labels: Labels;
  readonly #bounds: Float64Array;

  constructor(labels: Labels, bounds: Float64Array) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface MetricSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registry: Registry;
}

/** The cells of one label combination are found by their values joined with a byte no label holds. */
function keyOf(labelNames: readonly string[], labels: Labels): string {
  return labelNames.map((name) => labels[name] ?? '').join('\u0000');
}

export class CellCounter<L extends string> {
  readonly #cells = new Map<string, CounterCell>();
  readonly #labelNames: readonly L[];

  constructor(spec: MetricSpec<L>) {
    this.#labelNames = spec.labelNames;
    const cells = this.#cells;
    new Counter({
      name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [spec.registry], aggregator: 'sum',
      // Runs once per scrape: the counter is rebuilt from the cells, so a scrape never sees a partial state.
      collect() {
        this.reset();
        for (const cell of cells.values()) if (cell.value > 0) this.inc(cell.labels as Partial<Record<L, string>>, cell.value);
      },
    });
  }

  /** The cell for these labels (made on first use, then the same one: counts never go back). */
  cell(labels: Readonly<Record<L, string>>): CounterCell {
    const key = keyOf(this.#labelNames, labels);
    let cell = this.#cells.get(key);
    if (cell === undefined) this.#cells.set(key, cell = new CounterCell({ ...labels }));
    return cell;
  }
}

/** Seconds, from 5 ms to 10 s: the request and attempt latencies a gateway sees. */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class CellHistogram<L extends string> {
  readonly #cells = new Map<string, HistogramCell>();
  readonly #labelNames: readonly L[];
  readonly #bounds: Float64Array;

  constructor(spec: MetricSpec<L> & { readonly buckets?: readonly number[] }) {
    const buckets = spec.buckets ?? LATENCY_BUCKETS;
    this.#labelNames = spec.labelNames;
    this.#bounds = Float64Array.from(buckets);
    const metric = new Histogram({ name: spec.name, help: spec.help, labelNames: spec.labelNames, buckets: [...buckets], registers: [spec.registry], aggregator: 'sum' });
    const cells = this.#cells;
    // prom-client reads a histogram through get() (JSON, for the workers' merge) and getForPromString() (text);
    // both give the cells in the shape its own histogram gives: cumulative buckets, then _sum and _count.
    const read = async () => ({ name: spec.name, help: spec.help, type: 'histogram' as const, aggregator: 'sum' as const, values: histogramValues(spec.name, buckets, cells.values()) });
    Object.assign(metric, { get: read, getForPromString: read });
  }

  cell(labels: Readonly<Record<L, string>>): HistogramCell {
    const key = keyOf(this.#labelNames, labels);
    let cell = this.#cells.get(key);
    if (cell === undefined) this.#cells.set(key, cell = new HistogramCell({ ...labels }, this.#bounds));
    return cell;
  }
}

interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

function histogramValues(name: string, bounds: readonly number[], cells: Iterable<HistogramCell>): Sample[] {
  const values: Sample[] = [];
  for (const cell of cells) {
    if (cell.count === 0) continue;
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += cell.counts[i]!;
      values.push({ labels: { ...cell.labels, le }, value: cumulative, metricName: `${name}_bucket` });
    });
    values.push({ labels: { ...cell.labels, le: '+Inf' }, value: cell.count, metricName: `${name}_bucket` });
    values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${name}_sum` });
    values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${name}_count` });
  }
  return values;
}
