/**
 * The alert rules of the running config and their states. `evaluate` runs every rule once over the live
 * windows at a given time (the monitor calls it every second; tests call it with any clock) and announces
 * each firing and resolved transition: one process-log line, the listeners (the /events stream), the
 * history (GET /alerts keeps the last HISTORY_LIMIT transitions) and the rule's webhooks. Pending and cleared
 * transitions go to the listeners and the history only.
 *
 * A reload keeps the state of every rule whose definition is unchanged (same name and same settings); a
 * changed or new rule starts inactive, a removed one is forgotten (a firing one without a resolved notice:
 * its definition is gone, so there is nothing left to resolve).
 */
import { ruleThreshold, type AlertRuleConfig, type AlertsConfig } from '../config/alerts-schema.ts';
import type { WindowTotals } from '../live/live-stats.ts';
import type { Logger } from '../observability/logger.ts';
import type { TargetSnapshot } from '../runtime/snapshot.ts';
import { RuleState, type RuleStateName, type Transition } from './rule-state.ts';
import { formatValue, readSignal } from './signals.ts';
import type { WebhookCounts, WebhookSender } from './webhooks.ts';

const HISTORY_LIMIT = 100;

/** A transition as announced (/events `alert`, GET /alerts `recent`, webhooks). */
export interface AlertEvent {
  readonly rule: string;
  readonly state: Transition;
  readonly severity: string;
  readonly signal: string;
  readonly route: string | null;
  readonly upstream: string | null;
  /** The signal's value at the transition (ms for latencies, 0..1 for ratios); null with too little data. */
  readonly value: number | null;
  readonly threshold: number;
  readonly op: 'above' | 'below';
  /** ISO time the condition started to hold (firing), or of the transition (others). */
  readonly since: string;
  /** ISO time of the transition. */
  readonly at: string;
  readonly description: string | null;
  readonly instance: string;
  /** The transition in one line, Slack-compatible. */
  readonly text: string;
}

/** A rule that is pending or firing, as GET /alerts lists it. */
export interface ActiveAlert {
  readonly rule: string;
  readonly state: RuleStateName;
  readonly severity: string;
  readonly signal: string;
  readonly value: number | null;
  readonly threshold: number;
  readonly since: string;
}

interface Rule {
  readonly config: AlertRuleConfig;
  readonly key: string;
  readonly state: RuleState;
  value: number | null;
}

/** What one evaluation reads: the windows by length (seconds), and the targets. */
export interface EvaluationInput {
  readonly window: (seconds: number) => WindowTotals;
  readonly targets: readonly TargetSnapshot[];
  /** Wall-clock ms. */
  readonly now: number;
}

export class AlertEngine {
  #rules: Rule[] = [];
  #upstreamOf: ReadonlyMap<string, string> = new Map();
  readonly #history: AlertEvent[] = [];
  readonly #listeners = new Set<(event: AlertEvent) => void>();
  readonly #log: Logger;
  readonly #webhooks: WebhookSender;
  readonly #instance: string;

  constructor(log: Logger, webhooks: WebhookSender, instance: string) {
    this.#log = log;
    this.#webhooks = webhooks;
    this.#instance = instance;
  }

  configure(alerts: AlertsConfig, routes: ReadonlyArray<{ name: string; upstream: string }>): void {
    const previous = new Map(this.#rules.map((r) => [r.key, r]));
    this.#rules = alerts.rules.map((config) => {
      const key = JSON.stringify(config);
      const kept = previous.get(key);
      return kept ?? { config, key, state: new RuleState(), value: null };
    });
    this.#upstreamOf = new Map(routes.map((r) => [r.name, r.upstream]));
    this.#webhooks.configure(alerts.webhooks);
  }

  get size(): number {
    return this.#rules.length;
  }

  /** Listens to every transition; returns the removal. */
  subscribe(listener: (event: AlertEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs every rule once; returns the transitions made. */
  evaluate(input: EvaluationInput): AlertEvent[] {
    const windows = new Map<number, WindowTotals>();
    const events: AlertEvent[] = [];
    for (const rule of this.#rules) {
      const seconds = Math.ceil(rule.config.window / 1000);
      let totals = windows.get(seconds);
      if (totals === undefined) windows.set(seconds, (totals = input.window(seconds)));
      const reading = readSignal(rule.config, totals, input.targets, this.#upstreamOf);
      if (reading.value !== null) rule.value = reading.value;
      const transition = rule.state.observe(reading.seen, input.now, rule.config);
      if (transition !== undefined) events.push(this.#announce(rule, transition, reading.value ?? rule.value, input.now));
    }
    return events;
  }

  active(): ActiveAlert[] {
    return this.#rules.filter((r) => r.state.state !== 'inactive').map(({ config, state, value }) => ({
      rule: config.name, state: state.state, severity: config.severity, signal: config.signal, value,
      threshold: ruleThreshold(config).value, since: new Date(state.since).toISOString(),
    }));
  }

  /** Each webhook's deliveries so far: delivered, failed attempts, dropped. */
  webhookCounts(): Record<string, WebhookCounts> {
    return Object.fromEntries(this.#webhooks.counts);
  }

  /** The last transitions, newest first. */
  recent(): AlertEvent[] {
    return [...this.#history].reverse();
  }

  #announce(rule: Rule, transition: Transition, value: number | null, now: number): AlertEvent {
    const { config } = rule;
    const { op, value: threshold } = ruleThreshold(config);
    const since = transition === 'firing' ? rule.state.activeAt : now;
    const event: AlertEvent = {
      rule: config.name, state: transition, severity: config.severity, signal: config.signal,
      route: config.route ?? null, upstream: config.upstream ?? null, value, threshold, op,
      since: new Date(since).toISOString(), at: new Date(now).toISOString(), description: config.description ?? null,
      instance: this.#instance, text: describe(config, transition, value, op, threshold),
    };
    this.#history.push(event);
    if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
    for (const listener of this.#listeners) listener(event);
    if (transition === 'firing' || transition === 'resolved') {
      const fields = { rule: config.name, state: transition, severity: config.severity, value, threshold };
      if (transition === 'firing') this.#log.warn(fields, event.text);
      else this.#log.info(fields, event.text);
      this.#webhooks.send(config.notify ?? this.#webhooks.names, event);
    }
    return event;
  }
}

function describe(rule: AlertRuleConfig, transition: Transition, value: number | null, op: string, threshold: number): string {
  const scope = rule.route !== undefined ? ` on route ${rule.route}` : rule.upstream !== undefined ? ` on upstream ${rule.upstream}` : '';
  const state = transition.toUpperCase();
  const about = rule.description ? ` — ${rule.description}` : '';
  return `[${state}] ${rule.name}: ${rule.signal} ${formatValue(rule.signal, value)} (${op} ${formatValue(rule.signal, threshold)})${scope}, ${rule.severity}${about}`;
}
