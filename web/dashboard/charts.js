// The two charts (uPlot): traffic in requests per second, and latency percentiles in ms, over the last
// minutes of one scope. Colours come from the page's CSS variables, so they follow the light or dark scheme.
import uPlot from '/dashboard/uPlot.esm.js';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function axes(unit) {
  const grid = { stroke: css('--grid'), width: 1 };
  const common = { stroke: css('--muted'), grid, ticks: grid, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
  return [
    { ...common, label: 'Time', labelSize: 18 },
    { ...common, label: unit, labelSize: 18, size: 56 },
  ];
}

const oneDecimal = (v) => (v === null || v === undefined ? '–' : v.toFixed(1));

const SPECS = {
  traffic: {
    unit: 'requests / s',
    series: [
      { label: 'Requests/s', field: 'rps', color: '--c-rps' },
      { label: '4xx/s', field: 'r4xx', color: '--c-4xx' },
      { label: '5xx/s', field: 'r5xx', color: '--c-5xx' },
      { label: 'Rate-limited/s', field: 'limited', color: '--c-limited' },
    ],
    format: oneDecimal,
  },
  latency: {
    unit: 'latency (ms)',
    series: [
      { label: 'p50 ms', field: 'p50', color: '--c-p50' },
      { label: 'p95 ms', field: 'p95', color: '--c-p95' },
      { label: 'p99 ms', field: 'p99', color: '--c-p99' },
    ],
    format: oneDecimal,
  },
};

function xRange(min, max) {
  const end = max ?? Date.now() / 1000;
  return [Math.min(min ?? end - 60, end - 60), end];
}

function height(width) {
  return width < 500 ? 200 : 260;
}

export class Chart {
  #spec;
  #el;
  #plot;
  #data;

  constructor(kind, el) {
    this.#spec = SPECS[kind];
    this.#el = el;
    this.#build();
    new ResizeObserver(() => this.#resize()).observe(el);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.#build());
  }

  /** The uPlot instance (tests read its data). */
  get plot() {
    return this.#plot;
  }

  #build() {
    this.#plot?.destroy();
    const width = Math.max(this.#el.clientWidth, 240);
    const opts = {
      width, height: height(width),
      // At least a minute on the time axis, so a fresh page (one point) still reads as a clock.
      scales: { x: { time: true, range: (_u, min, max) => xRange(min, max) }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: axes(this.#spec.unit),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'Time' },
        ...this.#spec.series.map((s) => ({ label: s.label, stroke: css(s.color), width: 2, spanGaps: false, points: { show: false }, value: (_u, v) => this.#spec.format(v) })),
      ],
    };
    this.#plot = new uPlot(opts, this.#data ?? [[], ...this.#spec.series.map(() => [])], this.#el);
  }

  #resize() {
    const width = Math.max(this.#el.clientWidth, 240);
    if (this.#plot && Math.abs(this.#plot.width - width) > 1) this.#plot.setSize({ width, height: height(width) });
  }

  /** Draws one scope's history (history.js). */
  show(series) {
    this.#data = [series.time.slice(), ...this.#spec.series.map((s) => series[s.field].slice())];
    // uPlot gives a one-point time axis a range of its own (a day): a gap one second before keeps it a minute.
    if (this.#data[0].length === 1) this.#data = this.#data.map((column, i) => [i === 0 ? column[0] - 1 : null, ...column]);
    this.#plot.setData(this.#data);
  }
}
