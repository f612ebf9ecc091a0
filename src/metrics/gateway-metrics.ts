/**
 * The data plane's series, for one process's Gateway: requests (finish hook), upstream attempts (a meter on
 * every target state), and the gauges read when scraped (in-flight, target availability). docs/metrics.md
 * explains each; a test keeps it in sync with the registry.
 *
 * Cardinality is bounded by the config, never by traffic: routes by name ("(none)" for requests no route
 * matched), methods from a fixed list plus "other", status classes, reasons from the catalogue, upstreams
 * and target URLs. Cells outlive reloads (counters never go back), so the series a process exports are
 * the routes and targets it has served since it started.
 *
 * Per request (the finish hook): one Map hit by route name, a switch on the method, then array hits for the
 * bound cells, one counter increment and one histogram observation (see cells.ts for what that costs).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { BreakerState } from '../upstream/circuit-breaker.ts';
import type { AttemptMeter, AttemptOutcome, TargetState } from '../upstream/target-state.ts';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './cells.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'other'] as const;
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
const OUTCOMES: readonly AttemptOutcome[] = ['response', 'connect_failure', 'connect_timeout', 'response_timeout', 'reset', 'bad_response', 'body_error', 'body_timeout', 'cancelled'];
/** The route label of a request no route matched. */
export const NO_ROUTE = '(none)';
/** The reason label of a request that has none (an upstream's answer). */
export const NO_REASON = 'none';
/** Rate-limit decisions: admitted, refused (429 rate_limited), or no decision possible (503 rate_limit_unavailable). */
const DECISIONS = ['allowed', 'limited', 'unavailable'] as const;
/** Reasons an auth policy refuses with; each also counts in gatehouse_auth_failures_total. */
const AUTH_REASONS: ReadonlySet<Reason> = new Set<Reason>(['token_missing', 'token_invalid', 'token_expired', 'api_key_missing', 'api_key_invalid', 'insufficient_scope', 'auth_keys_unavailable']);

function methodIndex(method: string): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return 9;
  }
}

function classIndex(status: number): number {
  const cls = (status / 100) | 0;
  return cls >= 1 && cls <= 5 ? cls - 1 : 5;
}

/** A breaker's state as a gauge value: higher is further from normal, so merging workers takes the max. */
const BREAKER_VALUES: Readonly<Record<BreakerState, number>> = { 'closed': 0, 'half-open': 1, 'open': 2 };

/**
 * Gauges read from each target's state when scraped, and how the workers' values merge into one: a new
 * fact about targets is one more row. Reads must not change the state (peekAvailable, never available).
 */
const TARGET_GAUGES: ReadonlyArray<{ name: string; help: string; aggregator: 'max' | 'min' | 'sum'; read: (state: TargetState) => number }> = [
  {
    name: 'gatehouse_target_available', aggregator: 'max', read: (s) => (s.peekAvailable() ? 1 : 0),
    help: '1 while the target may get traffic, 0 while it must not (failed health checks, an open breaker, the admin API). With workers: 1 if any worker may send it traffic.',
  },
  { name: 'gatehouse_target_in_flight', aggregator: 'sum', read: (s) => s.inFlight, help: 'Attempts to the target in flight now (upgraded connections included).' },
  {
    name: 'gatehouse_target_healthy', aggregator: 'min', read: (s) => (s.healthy ? 1 : 0),
    help: '1 while active health checks pass (or the upstream has none), 0 once they failed. With workers: 0 if any worker holds it unhealthy.',
  },
  {
    name: 'gatehouse_target_breaker_state', aggregator: 'max', read: (s) => BREAKER_VALUES[s.breaker?.state ?? 'closed'],
    help: 'The target\'s circuit breaker: 0 closed (or no breaker), 1 half-open, 2 open. With workers: the most open of the workers\' breakers.',
  },
];

/** The cells of one route: bound on the route's first request, then reused. */
class RouteCells {
  readonly duration: HistogramCell;
  /** Requests without a reason, by method and status class: index method * 6 + class. */
  readonly plain: Array<CounterCell | undefined> = [];
  readonly byReason = new Map<string, Array<CounterCell | undefined>>();
  /** Rate-limit decisions, index in DECISIONS. */
  readonly rateLimit: Array<CounterCell | undefined> = [];
  readonly route: string;

  constructor(route: string, duration: HistogramCell) {
    this.route = route;
    this.duration = duration;
  }
}

/** Attempts of one target, by outcome (index in OUTCOMES), and their time to response head. */
class TargetMeter implements AttemptMeter {
  readonly #byOutcome: Array<CounterCell | undefined> = [];
  readonly #duration: HistogramCell;
  readonly #labels: { upstream: string; target: string };
  readonly #attempts: CellCounter<'upstream' | 'target' | 'outcome'>;

  constructor(attempts: CellCounter<'upstream' | 'target' | 'outcome'>, duration: CellHistogram<'upstream' | 'target'>, state: TargetState) {
    this.#labels = { upstream: state.upstream, target: state.url };
    this.#attempts = attempts;
    this.#duration = duration.cell(this.#labels);
  }

  attempt(outcome: AttemptOutcome, headersMs: number | undefined): void {
    const i = OUTCOMES.indexOf(outcome);
    const cell = this.#byOutcome[i] ?? (this.#byOutcome[i] = this.#attempts.cell({ ...this.#labels, outcome }));
    cell.inc();
    if (headersMs !== undefined) this.#duration.observe(headersMs / 1000);
  }
}

export class GatewayMetrics {
  readonly #requests: CellCounter<'route' | 'method' | 'status_class' | 'reason'>;
  readonly #duration: CellHistogram<'route'>;
  readonly #auth: CellCounter<'route' | 'reason'>;
  readonly #rateLimit: CellCounter<'route' | 'decision'>;
  readonly #routes = new Map<string, RouteCells>();
  readonly #authCells = new Map<string, CounterCell>();

  constructor(gateway: Gateway, registry: Registry) {
    this.#requests = new CellCounter({ registry, name: 'gatehouse_requests_total', help: 'Requests finished, by route name, method, status class and reason ("none" for an upstream\'s answer).', labelNames: ['route', 'method', 'status_class', 'reason'] });
    this.#duration = new CellHistogram({ registry, name: 'gatehouse_request_duration_seconds', help: 'Time from a request\'s arrival to its finish (the last byte sent, or the connection closed), by route name.', labelNames: ['route'] });
    this.#auth = new CellCounter({ registry, name: 'gatehouse_auth_failures_total', help: 'Requests an auth policy refused, by route name and reason.', labelNames: ['route', 'reason'] });
    this.#rateLimit = new CellCounter({ registry, name: 'gatehouse_rate_limit_decisions_total', help: 'Requests a rate-limit policy decided on, by route name and decision: allowed, limited (429 rate_limited), unavailable (503 rate_limit_unavailable: Redis failed and fail-closed).', labelNames: ['route', 'decision'] });
    const attempts = new CellCounter({ registry, name: 'gatehouse_upstream_attempts_total', help: 'Upstream attempts finished, by upstream, target URL and outcome.', labelNames: ['upstream', 'target', 'outcome'] });
    const attemptDuration = new CellHistogram({ registry, name: 'gatehouse_upstream_attempt_duration_seconds', help: 'Time from an attempt\'s dispatch to its response head, by upstream and target URL (attempts that got no head are not observed).', labelNames: ['upstream', 'target'] });
    gateway.targets.meterWith((state) => new TargetMeter(attempts, attemptDuration, state));
    new Gauge({
      name: 'gatehouse_in_flight_requests', help: 'Requests in flight now (upgraded connections included).', registers: [registry], aggregator: 'sum',
      collect() { this.set(gateway.inFlight); },
    });
    for (const spec of TARGET_GAUGES) {
      new Gauge({
        name: spec.name, help: spec.help, labelNames: ['upstream', 'target'], registers: [registry], aggregator: spec.aggregator,
        // Reset first: a target removed by a reload leaves the gauge with the reload.
        collect() {
          this.reset();
          for (const upstream of gateway.runtime.upstreams.values()) {
            for (const { state } of upstream.targets) this.set({ upstream: state.upstream, target: state.url }, spec.read(state));
          }
        },
      });
    }
    gateway.finishHooks.add('metrics', this.record);
  }

  /** The finish hook: runs once per request. */
  readonly record = (ex: Exchange): void => {
    const name = ex.route ?? NO_ROUTE;
    const route = this.#routes.get(name) ?? this.#route(name);
    route.duration.observe((ex.end - ex.start) / 1000);
    const index = methodIndex(ex.method) * 6 + classIndex(ex.status);
    const reason = ex.reason;
    const cells = reason === undefined ? route.plain : route.byReason.get(reason) ?? this.#reasonCells(route, reason);
    (cells[index] ?? this.#bind(route, cells, index, reason ?? NO_REASON)).inc();
    if (reason !== undefined && AUTH_REASONS.has(reason)) this.#authCell(name, reason).inc();
    // The rate-limit policy notes the limit it reports on the Exchange (-1: no rate limit ran).
    if (ex.rateLimitIndex >= 0 || reason === 'rate_limit_unavailable') {
      const d = reason === 'rate_limited' ? 1 : reason === 'rate_limit_unavailable' ? 2 : 0;
      (route.rateLimit[d] ??= this.#rateLimit.cell({ route: name, decision: DECISIONS[d]! })).inc();
    }
  };

  #route(name: string): RouteCells {
    const route = new RouteCells(name, this.#duration.cell({ route: name }));
    this.#routes.set(name, route);
    return route;
  }

  #reasonCells(route: RouteCells, reason: string): Array<CounterCell | undefined> {
    const cells: Array<CounterCell | undefined> = [];
    route.byReason.set(reason, cells);
    return cells;
  }

  #bind(route: RouteCells, cells: Array<CounterCell | undefined>, index: number, reason: string): CounterCell {
    const labels = { route: route.route, method: METHODS[(index / 6) | 0]!, status_class: CLASSES[index % 6]!, reason };
    return (cells[index] = this.#requests.cell(labels));
  }

  #authCell(route: string, reason: string): CounterCell {
    const key = `${route}\u0000${reason}`;
    let cell = this.#authCells.get(key);
    if (cell === undefined) this.#authCells.set(key, cell = this.#auth.cell({ route, reason }));
    return cell;
  }
}
