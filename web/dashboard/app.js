// The dashboard: sign in once (or not at all on a gateway without a token), then follow GET /events and
// redraw every second. The page keeps a few minutes of history per scope (history.js) for the charts.
import { Chart } from '/dashboard/charts.js';
import { History } from '/dashboard/history.js';
import { openSession, storedToken, stream } from '/dashboard/session.js';
import { renderAlerts, renderErrors, renderFigures, renderTargets, updateScopes } from '/dashboard/view.js';

const $ = (id) => document.getElementById(id);
const history = new History();
let charts;
let latest;
let stopStream;
let staleTimer;

const STATES = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stale: 'Waiting for data…',
  off: 'Live statistics are off',
};

function setState(state) {
  const pill = $('connection');
  pill.dataset.state = state;
  pill.textContent = STATES[state] ?? state;
  const notice = $('notice');
  notice.hidden = state !== 'off';
  if (state === 'off') notice.textContent = 'This gateway does not serve GET /events: live statistics are switched off in its config.';
}

function draw() {
  if (!latest) return;
  const key = $('scope').value;
  renderFigures(latest, key);
  const series = history.get(key);
  charts.traffic.show(series);
  charts.latency.show(series);
}

function onStats(stats) {
  latest = stats;
  history.add(stats);
  updateScopes($('scope'), stats.minute);
  draw();
  renderTargets(stats.targets);
  renderErrors(stats.errors);
  renderAlerts(stats.alerts);
  setState('live');
  // Stats come every second: three seconds without one means the stream is stuck.
  clearTimeout(staleTimer);
  staleTimer = setTimeout(() => setState('stale'), 3000);
}

function onAlert(event) {
  // The next stats event carries the alert lists; redraw them now from what we have plus this transition.
  if (!latest) return;
  const recent = [event, ...(latest.alerts?.recent ?? [])].slice(0, 20);
  let active = (latest.alerts?.active ?? []).filter((a) => a.rule !== event.rule);
  if (event.state === 'firing' || event.state === 'pending') {
    active = [...active, { rule: event.rule, state: event.state, severity: event.severity, signal: event.signal, value: event.value, threshold: event.threshold, since: event.at }];
  }
  latest = { ...latest, alerts: { active, recent } };
  renderAlerts(latest.alerts);
}

function showBoard() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('controls').hidden = false;
  charts ??= { traffic: new Chart('traffic', $('chart-traffic')), latency: new Chart('latency', $('chart-latency')) };
  window.gatehouseDashboard = { charts, history };
  setState('connecting');
  stopStream?.();
  stopStream = stream({ stats: onStats, alert: onAlert, state: setState, authLost: askForToken });
}

function askForToken(message) {
  stopStream?.();
  stopStream = undefined;
  $('board').hidden = true;
  $('controls').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  setState('idle');
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  if (!token) return;
  const button = event.submitter ?? $('login-form').querySelector('button');
  button.disabled = true;
  $('login-error').textContent = '';
  const session = await openSession(token);
  button.disabled = false;
  if (!session.ok) {
    $('login-error').textContent = session.message;
    input.select();
    return;
  }
  storedToken.set(token);
  input.value = '';
  showBoard();
}

async function start() {
  $('login-form').addEventListener('submit', (e) => void signIn(e));
  $('scope').addEventListener('change', draw);
  const token = storedToken.get();
  // A stored token (a reload of this tab) or none: a gateway without admin.token opens a session as is.
  const session = await openSession(token);
  if (session.ok) return showBoard();
  if (token !== undefined && session.status === 401) storedToken.clear();
  askForToken(token === undefined && session.status === 401 ? '' : session.message);
}

void start();
