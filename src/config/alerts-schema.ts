/**
 * The `alerts:` section: webhooks that receive alert transitions, and rules over the live statistics
 * (docs/alerts.md). A threshold's unit depends on its signal (a duration for latencies, a ratio for ratios, a
 * number otherwise), so `above`/`below` are checked against the signal here and parsed by `ruleThreshold`.
 * References to routes, upstreams and webhooks are checked with the rest of the config's cross-references
 * (`alertReferenceIssues`, called from schema.ts), so an unknown name is an error at its line and column.
 */
import { z } from 'zod';
import { duration, parseDuration } from '../fields/units.ts';

export const ALERT_SIGNALS = ['rps', 'p50', 'p95', 'p99', 'error-ratio', '5xx-ratio', 'rate-limited-ratio', 'available-targets'] as const;
export type AlertSignal = (typeof ALERT_SIGNALS)[number];

const LATENCY_SIGNALS: ReadonlySet<string> = new Set(['p50', 'p95', 'p99']);
const RATIO_SIGNALS: ReadonlySet<string> = new Set(['error-ratio', '5xx-ratio', 'rate-limited-ratio']);
const MAX_WINDOW_MS = 3_600_000;
const NAME = /^[A-Za-z0-9_.-]+$/;

export const webhookSchema = z.strictObject({
  name: z.string().regex(NAME, 'webhook names contain only letters, digits, ".", "_" and "-"').describe('Name rules use in `notify`.'),
  url: z.string().refine((url) => /^https?:$/.test(URL.parse(url)?.protocol ?? ''), 'an http:// or https:// URL')
    .describe('Receives a JSON POST per transition (rule, state, value, threshold, since, instance) with a Slack-compatible `text`.'),
  timeout: duration().prefault('2s').describe('Longest wait for the receiver\'s answer per delivery attempt; a delivery is retried 3 times with backoff, then dropped.'),
}).describe('A receiver of alert transitions.');

/** Each branch carries its own description, so the JSON Schema keeps two branches (editors and ajv strict mode want that). */
const threshold = z.union([
  z.number().meta({ description: 'a count, a ratio 0..1, or milliseconds for a latency' }),
  z.string().meta({ description: 'e.g. "500ms" for a latency, "5%" for a ratio' }),
]);

export const alertRuleSchema = z.strictObject({
  name: z.string().regex(NAME, 'rule names contain only letters, digits, ".", "_" and "-"').describe('Names the rule in logs, events and notifications.'),
  signal: z.enum(ALERT_SIGNALS).describe('What is measured over the window: rps; p50, p95, p99 (time to the response head); error-ratio (4xx+5xx); 5xx-ratio; rate-limited-ratio; available-targets.'),
  route: z.string().optional().describe('Only this route\'s traffic (a route name).'),
  upstream: z.string().optional().describe('Only this upstream\'s traffic, or its targets for available-targets (an upstream name). Neither route nor upstream: all traffic.'),
  above: threshold.optional().describe('Fires while the signal is above this: a duration for latencies ("500ms"), a ratio for ratios (0.05 or "5%"), a number otherwise.'),
  below: threshold.optional().describe('Fires while the signal is below this (same units as `above`).'),
  window: duration().prefault('1m').describe('The rolling window the signal is computed over (at most 1h; windows over a minute count whole minutes).'),
  for: duration().prefault('0s').describe('How long the condition must hold before the rule fires; until then it is pending.'),
  keepFiringFor: duration().prefault('0s').describe('How long the rule stays firing after the condition stops holding.'),
  minRequests: z.number().int().min(0).default(10).describe('Ratios and latencies need at least this many requests in the window; with fewer the rule keeps its state.'),
  severity: z.enum(['info', 'warning', 'critical']).default('warning').describe('Carried in notifications.'),
  description: z.string().optional().describe('Human text carried in notifications.'),
  notify: z.array(z.string()).optional().describe('Webhook names to notify; default: every webhook.'),
}).superRefine((rule, ctx) => {
  if ((rule.above === undefined) === (rule.below === undefined)) ctx.addIssue({ code: 'custom', path: ['above'], message: 'set exactly one of above or below' });
  if (rule.route !== undefined && rule.upstream !== undefined) ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'set route or upstream, not both' });
  if (rule.window > MAX_WINDOW_MS || rule.window < 1000) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be between 1s and 1h' });
  for (const key of ['above', 'below'] as const) {
    const raw = rule[key];
    if (raw !== undefined && parseThreshold(rule.signal, raw) === undefined) ctx.addIssue({ code: 'custom', path: [key], message: thresholdHint(rule.signal, raw) });
  }
}).describe('A condition over the live statistics that fires and resolves.');

export const alertsSchema = z.strictObject({
  webhooks: z.array(webhookSchema).default([]).describe('Receivers of firing and resolved transitions.'),
  rules: z.array(alertRuleSchema).default([]).describe('Evaluated every second over the live statistics (docs/alerts.md).'),
}).describe('Alert rules over the live statistics, and where their transitions are sent (docs/alerts.md).');

export type AlertsConfig = z.output<typeof alertsSchema>;
export type AlertRuleConfig = z.output<typeof alertRuleSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;

export function isLatencySignal(signal: AlertSignal): boolean {
  return LATENCY_SIGNALS.has(signal);
}

export function isRatioSignal(signal: AlertSignal): boolean {
  return RATIO_SIGNALS.has(signal);
}

/** A threshold in the signal's unit (ms for latencies, 0..1 for ratios), or undefined when it does not fit the signal. */
export function parseThreshold(signal: AlertSignal, raw: number | string): number | undefined {
  if (isLatencySignal(signal)) return parseDuration(raw);
  if (isRatioSignal(signal)) {
    const percent = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw) : null;
    const value = percent ? Number(percent[1]) / 100 : typeof raw === 'number' ? raw : undefined;
    return value !== undefined && value >= 0 && value <= 1 ? value : undefined;
  }
  return typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? raw : undefined;
}

function thresholdHint(signal: AlertSignal, raw: unknown): string {
  const want = isLatencySignal(signal) ? 'a duration such as "500ms"' : isRatioSignal(signal) ? 'a ratio such as 0.05 or "5%"' : 'a number';
  return `invalid threshold ${JSON.stringify(raw)} for ${signal}: use ${want}`;
}

/** The rule's comparison and threshold in the signal's unit (the schema has checked it parses). */
export function ruleThreshold(rule: AlertRuleConfig): { readonly op: 'above' | 'below'; readonly value: number } {
  const op = rule.above !== undefined ? 'above' : 'below';
  return { op, value: parseThreshold(rule.signal, (rule.above ?? rule.below)!) ?? 0 };
}

type Issue = { path: Array<string | number>; message: string };

/** Unknown routes, upstreams and webhooks in rules, and duplicate names. Works on raw, unvalidated input. */
export function alertReferenceIssues(input: unknown): Issue[] {
  const { routes, upstreams, alerts } = (input ?? {}) as { routes?: unknown; upstreams?: unknown; alerts?: unknown };
  const { webhooks, rules } = (alerts ?? {}) as { webhooks?: unknown; rules?: unknown };
  const routeNames = Array.isArray(routes) ? routes.map((r) => (r as { name?: unknown } | null)?.name).filter((n) => typeof n === 'string') : [];
  const upstreamNames = upstreams && typeof upstreams === 'object' ? Object.keys(upstreams) : [];
  const hookNames = Array.isArray(webhooks) ? webhooks.map((w) => (w as { name?: unknown } | null)?.name) : [];
  const issues: Issue[] = [...duplicates(hookNames, ['alerts', 'webhooks'], 'webhook')];
  if (!Array.isArray(rules)) return issues;
  issues.push(...duplicates(rules.map((r) => (r as { name?: unknown } | null)?.name), ['alerts', 'rules'], 'rule'));
  rules.forEach((rule: unknown, i) => {
    const { route, upstream, notify } = (rule ?? {}) as { route?: unknown; upstream?: unknown; notify?: unknown };
    const at = ['alerts', 'rules', i];
    if (typeof route === 'string' && !routeNames.includes(route)) issues.push({ path: [...at, 'route'], message: `unknown route "${route}" (known: ${routeNames.join(', ') || 'none defined'})` });
    if (typeof upstream === 'string' && !upstreamNames.includes(upstream)) issues.push({ path: [...at, 'upstream'], message: `unknown upstream "${upstream}" (known: ${upstreamNames.join(', ') || 'none defined'})` });
    if (Array.isArray(notify)) {
      notify.forEach((name: unknown, n) => {
        if (typeof name === 'string' && !hookNames.includes(name)) issues.push({ path: [...at, 'notify', n], message: `unknown webhook "${name}" (known: ${hookNames.filter((h) => typeof h === 'string').join(', ') || 'none defined'})` });
      });
    }
  });
  return issues;
}

function duplicates(names: unknown[], at: Array<string | number>, what: string): Issue[] {
  const seen = new Map<string, number>();
  const issues: Issue[] = [];
  names.forEach((name, i) => {
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined) issues.push({ path: [...at, i, 'name'], message: `duplicate ${what} name "${name}" (first used by ${at.at(-1)}[${first}])` });
    else seen.set(name, i);
  });
  return issues;
}
