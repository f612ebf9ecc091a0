// Number formatting for the dashboard: short, fixed precision, never "NaN".

/** A rate or count with at most one decimal ("12.3", "1,204"). */
export function rate(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1);
}

/** Milliseconds: "0.42", "12.3", "1,250". */
export function ms(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n < 1) return n.toFixed(2);
  return n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en');
}

/** A 0..1 ratio as a percentage number ("2.5"). */
export function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  return (ratio * 100).toFixed(ratio < 0.1 ? 2 : 1);
}

/** A wall-clock time (ms or ISO) as HH:MM:SS in the browser's zone. */
export function clock(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** An alert's value in its signal's unit. */
export function signalValue(signal, value) {
  if (value === null || value === undefined) return '–';
  if (/^p\d+$/.test(signal)) return `${ms(value)} ms`;
  if (signal.endsWith('ratio')) return `${percent(value)} %`;
  return rate(value);
}
