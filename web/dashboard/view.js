// Renders one stats event into the page: the figures of the chosen scope, the reasons, targets, errors and
// alerts. Only textContent is used for values from the gateway, never HTML.
import { clock, ms, percent, rate, signalValue } from '/dashboard/format.js';
import { scopeKeys, scopeOf } from '/dashboard/history.js';

const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(...cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function fill(tableId, rows, empty, columns) {
  const body = $(tableId).tBodies[0];
  if (rows.length === 0) {
    const td = cell(empty, 'empty');
    td.colSpan = columns;
    rows = [row(td)];
  }
  body.replaceChildren(...rows);
}

function badge(text, tone) {
  const td = document.createElement('td');
  const span = document.createElement('span');
  span.className = `badge ${tone}`;
  span.textContent = text;
  td.append(span);
  return td;
}

export function scopeLabel(key) {
  if (key === 'overall') return 'All traffic';
  const [kind, ...rest] = key.split(':');
  return `${kind === 'route' ? 'Route' : 'Upstream'} ${rest.join(':')}`;
}

/** Keeps the selector's options in step with the scopes the gateway names (the choice survives). */
export function updateScopes(select, window) {
  const keys = scopeKeys(window);
  const have = [...select.querySelectorAll('option')].map((o) => o.value);
  if (keys.length === have.length && keys.every((k) => have.includes(k))) return;
  const chosen = select.value;
  const groups = [['Routes', 'route:'], ['Upstreams', 'upstream:']];
  const overall = new Option('All traffic', 'overall');
  const children = [overall];
  for (const [label, prefix] of groups) {
    const names = keys.filter((k) => k.startsWith(prefix));
    if (names.length === 0) continue;
    const group = document.createElement('optgroup');
    group.label = label;
    for (const key of names) group.append(new Option(key.slice(prefix.length), key));
    children.push(group);
  }
  select.replaceChildren(...children);
  select.value = keys.includes(chosen) ? chosen : 'overall';
}

export function renderFigures(stats, key) {
  const s = scopeOf(stats.minute, key);
  const secs = stats.minute?.seconds || 60;
  const classes = s?.statusClasses ?? {};
  $('scope-name').textContent = `· ${scopeLabel(key)}`;
  $('v-rps').textContent = rate(s?.rps ?? 0);
  $('v-p50').textContent = ms(s?.p50);
  $('v-p95').textContent = ms(s?.p95);
  $('v-p99').textContent = ms(s?.p99);
  $('v-4xx').textContent = rate((classes['4xx'] ?? 0) / secs);
  $('v-5xx').textContent = rate((classes['5xx'] ?? 0) / secs);
  $('v-limited').textContent = rate((s?.rateLimited ?? 0) / secs);
  $('v-errors').textContent = percent(s?.errorRatio ?? 0);
  const reasons = Object.entries(s?.reasons ?? {}).sort((a, b) => b[1] - a[1]);
  fill('reasons', reasons.map(([name, n]) => row(cell(name, 'mono'), cell(n.toLocaleString('en'), 'num'))), 'No gateway reasons in the last minute.', 2);
}

export function renderTargets(targets) {
  const breakerTone = { closed: 'ok', off: 'muted', 'half-open': 'warn', open: 'bad' };
  fill('targets', (targets ?? []).map((t) => row(
    cell(t.upstream), cell(t.url, 'mono'),
    badge(t.available ? 'available' : 'unavailable', t.available ? 'ok' : 'bad'),
    badge(t.healthy ? 'healthy' : 'down', t.healthy ? 'ok' : 'bad'),
    badge(t.breaker, breakerTone[t.breaker] ?? 'muted'),
    cell(String(t.inFlight ?? 0), 'num'),
    cell(t.latencyEwmaMs === null || t.latencyEwmaMs === undefined ? '–' : `${ms(t.latencyEwmaMs)} ms`, 'num'),
  )), 'No targets.', 7);
}

export function renderErrors(errors) {
  fill('errors', (errors ?? []).slice(0, 15).map((e) => row(
    cell(clock(e.time)), cell(String(e.status), 'num'), cell(e.reason ?? '–', 'mono'), cell(e.route ?? '–'), cell(e.requestId, 'mono id'),
  )), 'No errors. Good.', 5);
}

function alertText(a) {
  return `${a.rule}: ${a.signal} ${signalValue(a.signal, a.value)} (threshold ${signalValue(a.signal, a.threshold)})`;
}

export function renderAlerts(alerts) {
  const firing = (alerts?.active ?? []).filter((a) => a.state === 'firing');
  const banner = $('alert-banner');
  banner.hidden = firing.length === 0;
  banner.replaceChildren(...firing.map((a) => {
    const p = document.createElement('p');
    const strong = document.createElement('strong');
    strong.textContent = `Firing · ${a.severity}`;
    p.append(strong, ` ${alertText(a)} since ${clock(a.since)}`);
    p.className = `sev-${a.severity}`;
    return p;
  }));
  const items = [];
  for (const a of (alerts?.active ?? []).filter((x) => x.state === 'pending')) items.push([`Pending: ${alertText(a)}`, 'warn', a.since]);
  for (const e of (alerts?.recent ?? []).filter((x) => x.state === 'resolved' || x.state === 'firing').slice(0, 10)) {
    items.push([`${e.state === 'resolved' ? 'Resolved' : 'Fired'}: ${alertText(e)}`, e.state === 'resolved' ? 'ok' : 'bad', e.at]);
  }
  const list = $('alerts');
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No alerts in the recent past.';
    return void list.replaceChildren(li);
  }
  list.replaceChildren(...items.map(([text, tone, at]) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = at;
    time.textContent = clock(at);
    const span = document.createElement('span');
    span.className = `badge ${tone}`;
    span.textContent = text.split(':')[0];
    li.append(time, ' ', span, ` ${text.slice(text.indexOf(':') + 2)}`);
    return li;
  }));
}
