/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium, headless) against the real
 * gateway process code (runGateway in this process, with its admin listener and live statistics) in front of
 * a real upstream on loopback. The test signs in (a wrong token first), generates traffic, checks that the
 * charts draw and the numbers move, slows the upstream until the shipped kind of rule (p95 on a route) fires
 * and the banner shows it, then checks the phone width, dark mode and a reload. Screenshots go to
 * test-artifacts/ (gitignored). Every wait is bounded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { configFileHints, type ConfigSource } from '../../src/process/config-source.ts';
import { runGateway, type GatewayProcess } from '../../src/process/supervisor.ts';
import { startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
// The functions passed to page.evaluate run in the page: its globals, typed loosely (no DOM lib here).
declare const document: any;
declare const window: any;
declare function getComputedStyle(element: unknown): { backgroundColor: string };
/* eslint-enable @typescript-eslint/no-explicit-any */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TOKEN = 'dashboard-test-token-0123456789';
const WAIT_MS = 20_000;

let upstream: FakeUpstream;
let gateway: GatewayProcess;
let browser: Browser;
let delayMs = 0;
let trafficOn = true;
let traffic: Promise<void>;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', () => resolve(0));
  });
}

/** Four clients, mostly /users and now and then a path no route matches (an error with a reason), for at most 3 minutes. */
async function generate(base: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  await Promise.all(Array.from({ length: 4 }, async (_, client) => {
    for (let i = 0; trafficOn && Date.now() < deadline; i++) {
      await get(`${base}${client === 0 && i % 10 === 0 ? '/nope' : '/users'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }));
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  upstream = await startUpstream((_req, res) => {
    setTimeout(() => res.end('{"ok":true}'), delayMs);
  });
  const config = configSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: TOKEN },
    log: { level: 'warn', access: { enabled: false } },
    upstreams: { api: { targets: [{ url: upstream.url }] } },
    routes: [{ name: 'users', match: { path: '/users' }, upstream: 'api' }],
    alerts: { rules: [{ name: 'users-slow', signal: 'p95', route: 'users', above: '150ms', window: '5s', for: '2s', minRequests: 5, description: 'Users API is slow' }] },
  });
  const source: ConfigSource = { file: undefined, hints: configFileHints, load: async () => ({ ok: true, config }), parse: (text) => loadConfigText(text, 'test.yaml') };
  gateway = await runGateway(source, pino({ level: 'silent' }), false);
  traffic = generate(gateway.url);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
});

after(async () => {
  trafficOn = false;
  await browser?.close();
  await traffic;
  agent.destroy();
  await gateway?.shutdown();
  await upstream?.close();
});

/** Waits (bounded) until `fn` returns true in the page. */
async function until(page: Page, what: string, fn: () => boolean): Promise<void> {
  try {
    await page.waitForFunction(fn, undefined, { timeout: WAIT_MS, polling: 200 });
  } catch (error) {
    await page.screenshot({ path: `${ARTIFACTS}dashboard-failed.png`, fullPage: true }).catch(() => {});
    throw new Error(`waiting for ${what}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
}

describe('the dashboard in a browser', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  it('signs in, draws live charts, shows a firing alert, fits a phone and survives a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // A refused token is a 401 on POST /session, which Chromium logs as a failed resource: expected here.
    page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && problems.push(`console: ${m.text()}`));
    const adminUrl = gateway.adminUrl!;

    await page.goto(`${adminUrl}/dashboard`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await until(page, 'the wrong-token message', () => /not accepted/.test(document.getElementById('login-error')!.textContent ?? ''));
    assert.equal(await page.locator('#board').isHidden(), true, 'a wrong token opens nothing');

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await until(page, 'the live board', () => document.getElementById('connection')!.dataset.state === 'live');
    assert.equal(await page.locator('#login').isHidden(), true);

    // The charts draw: a canvas with a size, and uPlot series holding per-second points with traffic in them.
    await until(page, 'three seconds of traffic in the chart', () => {
      const plot = (window as unknown as { gatehouseDashboard: { charts: { traffic: { plot: { data: number[][] } } } } }).gatehouseDashboard.charts.traffic.plot;
      return plot.data[0]!.length >= 3 && plot.data[1]!.some((v) => v > 0);
    });
    for (const id of ['chart-traffic', 'chart-latency']) {
      const size = await page.locator(`#${id} canvas`).evaluate((c: { width: number; height: number }) => ({ w: c.width, h: c.height }));
      assert.ok(size.w > 0 && size.h > 0, `${id} has a canvas with a size`);
    }
    const latency = await page.evaluate(() => (window as unknown as { gatehouseDashboard: { charts: { latency: { plot: { data: Array<Array<number | null>> } } } } }).gatehouseDashboard.charts.latency.plot.data);
    assert.ok(latency[1]!.some((v) => v !== null && v > 0), 'p50 points drawn');
    assert.ok(await page.locator('.u-axis').count() >= 4, 'both charts have axes');
    const labels = await page.evaluate(() => {
      const { charts } = (window as unknown as { gatehouseDashboard: { charts: Record<string, { plot: { axes: Array<{ label?: string }> } }> } }).gatehouseDashboard;
      return Object.values(charts).map((c) => c.plot.axes.map((a) => a.label));
    });
    assert.deepEqual(labels, [['Time', 'requests / s'], ['Time', 'latency (ms)']], 'labelled axes with units');

    // The numbers move: the points in the chart and the figures change from one second to the next.
    const points = await page.evaluate(() => (window as unknown as { gatehouseDashboard: { charts: { traffic: { plot: { data: number[][] } } } } }).gatehouseDashboard.charts.traffic.plot.data[0]!.at(-1));
    await until(page, 'a newer second', new Function(`return window.gatehouseDashboard.charts.traffic.plot.data[0].at(-1) > ${points}`) as () => boolean);
    assert.notEqual(await page.locator('#v-rps').textContent(), '–');
    assert.match(await page.locator('#v-p50').textContent() ?? '', /^\d/);
    // The error tail shows the unmatched paths with their request IDs; the reasons table names the reason.
    await until(page, 'an error in the tail', () => /route_not_found/.test(document.getElementById('errors')!.textContent ?? ''));
    assert.match(await page.locator('#errors tbody tr').first().innerText(), /404[\s\S]*route_not_found[\s\S]*[0-9a-f]{8}-[0-9a-f]{4}/);
    assert.match(await page.locator('#reasons').innerText(), /route_not_found/);
    assert.match(await page.locator('#targets').innerText(), new RegExp(`${upstream.url}[\\s\\S]*available[\\s\\S]*closed`));
    // The selector switches to one route.
    await page.getByLabel('Show').selectOption('route:users');
    assert.match(await page.locator('#scope-name').textContent() ?? '', /Route users/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-1280.png`, fullPage: true });

    // Slow the upstream: the p95 rule goes pending, then fires, and the banner says so.
    delayMs = 300;
    await until(page, 'the alert banner', () => {
      const banner = document.getElementById('alert-banner')!;
      return !banner.hidden && /users-slow/.test(banner.textContent ?? '');
    });
    assert.match(await page.getByRole('alert').filter({ hasText: 'users-slow' }).innerText(), /Firing[\s\S]*p95/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-1280.png`, fullPage: true });

    // Phone width: one column, no horizontal scroll.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(300);
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 375, `no horizontal scroll at 375 px (scrollWidth ${scrollWidth})`);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-375.png`, fullPage: true });

    // Recovery: the alert resolves and moves to the list.
    delayMs = 0;
    await until(page, 'the resolved alert', () => document.getElementById('alert-banner')!.hidden && /Resolved/.test(document.getElementById('alerts')!.textContent ?? ''));

    // Dark mode follows the system; a reload signs in again silently from sessionStorage.
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(dark, light, 'the dark scheme changes the page');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.reload();
    await until(page, 'the board after a reload, without the token form', () => document.getElementById('connection')!.dataset.state === 'live');
    assert.equal(await page.locator('#login').isHidden(), true);
    // A fresh page has one second of history: its time axis still reads as minutes, not days.
    await until(page, 'a time axis of minutes', () => {
      const x = window.gatehouseDashboard.charts.traffic.plot.scales.x;
      return x.max !== null && x.max - x.min >= 59 && x.max - x.min <= 600;
    });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-dark-1280.png`, fullPage: true });

    assert.deepEqual(problems, [], 'no errors in the console');
    await page.close();
  });

  it('works without asking when the listener has no token, and names a closed stream "reconnecting"', async () => {
    const config = configSchema.parse({
      listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, log: { level: 'warn', access: { enabled: false } },
      upstreams: { api: { targets: [{ url: upstream.url }] } }, routes: [{ name: 'users', match: { path: '/users' }, upstream: 'api' }],
    });
    const source: ConfigSource = { file: undefined, hints: configFileHints, load: async () => ({ ok: true, config }), parse: (text) => loadConfigText(text, 'test.yaml') };
    const open = await runGateway(source, pino({ level: 'silent' }), false);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await page.goto(`${open.adminUrl!}/dashboard`);
      await until(page, 'the live board without a token', () => document.getElementById('connection')!.dataset.state === 'live');
      assert.equal(await page.locator('#login').isHidden(), true, 'no token asked for');
      await open.shutdown();
      await until(page, 'the reconnecting state', () => ['reconnecting', 'stale'].includes(document.getElementById('connection')!.dataset.state ?? ''));
    } finally {
      await page.close();
      await open.shutdown();
    }
  });
});
