// The last few minutes of per-second figures, per scope (all traffic, each route, each upstream), kept in
// the page: the gateway sends one second at a time. Bounded: POINTS per scope, and only the scopes the
// gateway names (a route a reload removes stops growing and is dropped after a while without data).

export const POINTS = 300;

const FIELDS = ['rps', 'r4xx', 'r5xx', 'limited', 'p50', 'p95', 'p99'];

function emptySeries() {
  return { time: [], ...Object.fromEntries(FIELDS.map((f) => [f, []])) };
}

/** Per-second figures of one scope from the gateway's ScopeStats of a one-second window. */
function point(scope) {
  const classes = scope?.statusClasses ?? {};
  return {
    rps: scope?.rps ?? 0,
    r4xx: classes['4xx'] ?? 0,
    r5xx: classes['5xx'] ?? 0,
    limited: scope?.rateLimited ?? 0,
    p50: scope?.p50 ?? null,
    p95: scope?.p95 ?? null,
    p99: scope?.p99 ?? null,
  };
}

export function scopeKeys(window) {
  return [
    'overall',
    ...Object.keys(window?.routes ?? {}).map((n) => `route:${n}`),
    ...Object.keys(window?.upstreams ?? {}).map((n) => `upstream:${n}`),
  ];
}

/** The scope named by `key` ("overall", "route:NAME", "upstream:NAME") in a window, or undefined. */
export function scopeOf(window, key) {
  if (!window) return undefined;
  if (key === 'overall') return window.overall;
  const [kind, ...rest] = key.split(':');
  const name = rest.join(':');
  const map = kind === 'route' ? window.routes : kind === 'upstream' ? window.upstreams : undefined;
  return map && Object.hasOwn(map, name) ? map[name] : undefined;
}

export class History {
  #series = new Map();
  #lastTime = 0;

  /** Adds one stats event's last second to every scope; ignores a repeated second (a reconnect's replay). */
  add(stats) {
    const time = Math.floor(Date.parse(stats.time) / 1000);
    if (!Number.isFinite(time) || time <= this.#lastTime) return false;
    this.#lastTime = time;
    const keys = new Set([...scopeKeys(stats.second), ...scopeKeys(stats.minute)]);
    for (const key of keys) {
      let s = this.#series.get(key);
      if (s === undefined) this.#series.set(key, (s = emptySeries()));
      const p = point(scopeOf(stats.second, key));
      s.time.push(time);
      for (const f of FIELDS) s[f].push(p[f]);
      if (s.time.length > POINTS) for (const f of ['time', ...FIELDS]) s[f].shift();
    }
    // A scope the gateway no longer names ages out once its whole history is older than the chart.
    for (const [key, s] of this.#series) if (!keys.has(key) && s.time.at(-1) < time - POINTS) this.#series.delete(key);
    return true;
  }

  get(key) {
    return this.#series.get(key) ?? emptySeries();
  }
}
