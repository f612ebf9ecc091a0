/**
 * The gateway's series as an operator reads them: after known traffic through a real gateway and a real
 * upstream the values are right, the series count stays fixed across 10,000 distinct paths, and
 * `promtool check metrics` accepts the output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { hashKey } from '../policies/api-key-auth.ts';
import { get } from '../../test/helpers/e2e-process.ts';
import { closedPort, echo, startUpstream, type FakeUpstream } from '../../test/helpers/fake-upstream.ts';
import { startGateway, type TestGateway } from '../../test/helpers/start-gateway.ts';
import { missing, promtoolProblems, sample, total } from '../../test/helpers/prometheus.ts';
import { GatewayMetrics } from './gateway-metrics.ts';
import { createRegistry } from './process-metrics.ts';

/**
 * The registry's text once gatehouse_requests_total adds up to `requests`: a request is counted when its
 * response has closed, a moment after the client has read it. Bounded.
 */
async function scrapeWhen(registry: Registry, requests: number): Promise<string> {
  let text = '';
  for (let i = 0; i < 200; i++) {
    text = await registry.metrics();
    if (total(text, 'gatehouse_requests_total') >= requests) return text;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`gatehouse_requests_total did not reach ${requests} in 2 s:\n${text}`);
}

/** Sample lines (not comments) whose name starts with gatehouse_. */
function gatehouseSamples(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('gatehouse_'));
}

describe('gateway metrics', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let registry: Registry;
  let down: string;

  before(async () => {
    const ok = echo('u');
    upstream = await startUpstream((req, res, received) => {
      if (req.url?.startsWith('/fail')) {
        res.writeHead(503).end();
        return;
      }
      ok(req, res, received);
    });
    down = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway({
      upstreams: { u: { targets: [{ url: upstream.url }] }, d: { targets: [{ url: down }], circuitBreaker: { consecutiveFailures: 1, maxEjectedPercent: 100 } } },
      routes: [
        { name: 'api', match: { path: '/api' }, upstream: 'u' },
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'u', policies: [{ type: 'api-key-auth', consumers: [{ id: 'c', keys: [hashKey('metrics-key-0123456789')] }] }] },
        { name: 'fail', match: { path: '/fail' }, upstream: 'u' },
        { name: 'down', match: { path: '/down' }, upstream: 'd' },
        { name: 'limited', match: { path: '/limited' }, upstream: 'u', policies: [{ type: 'rate-limit', limits: [{ name: 'per-ip', key: 'ip', limit: 2, window: '1m' }] }] },
      ],
    });
    registry = createRegistry();
    new GatewayMetrics(gw.instance.gateway, registry);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('counts known traffic by route, method, status class and reason', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await get(`${gw.url}/api/x`)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.url}/nowhere`)).status, 404);
    for (let i = 0; i < 2; i++) assert.equal((await get(`${gw.url}/keyed`, { 'x-api-key': 'wrong-key-0123456789' })).status, 401);
    assert.equal((await get(`${gw.url}/fail`)).status, 503);
    const text = await scrapeWhen(registry, 11);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="api",method="GET",status_class="2xx",reason="none"'), 5);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="(none)",method="GET",status_class="4xx",reason="route_not_found"'), 3);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="keyed",method="GET",status_class="4xx",reason="api_key_invalid"'), 2);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="fail",method="GET",status_class="5xx",reason="none"'), 1);
    assert.equal(sample(text, 'gatehouse_auth_failures_total', 'route="keyed",reason="api_key_invalid"'), 2);
    assert.equal(sample(text, 'gatehouse_request_duration_seconds_count', 'route="api"'), 5);
    assert.equal(sample(text, 'gatehouse_request_duration_seconds_bucket', 'route="api",le="+Inf"'), 5);
    const target = `upstream="u",target="${upstream.url}"`;
    // The 503 is a response: the target answered.
    assert.equal(sample(text, 'gatehouse_upstream_attempts_total', `${target},outcome="response"`), 6);
    assert.equal(sample(text, 'gatehouse_upstream_attempt_duration_seconds_count', target), 6);
    assert.equal(sample(text, 'gatehouse_target_available', target), 1);
    assert.equal(sample(text, 'gatehouse_target_in_flight', target), 0);
    assert.equal(sample(text, 'gatehouse_in_flight_requests', ''), 0);
    assert.ok((sample(text, 'nodejs_eventloop_lag_seconds', '') ?? -1) >= 0, 'event-loop delay is exported');
    assert.ok((sample(text, 'process_cpu_seconds_total', '') ?? -1) > 0, 'process metrics are exported');
  });

  it('bounds methods to the known ones plus "other"', async () => {
    const answer = await fetch(`${gw.url}/api/y`, { method: 'PROPFIND' });
    await answer.arrayBuffer();
    const text = await scrapeWhen(registry, 12);
    // No route takes PROPFIND (routes match the common methods by default), so it is refused: 405.
    assert.equal(answer.status, 405);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="(none)",method="other",status_class="4xx",reason="method_not_allowed"'), 1);
    assert.ok(!text.includes('PROPFIND'));
  });

  it('shows a target\'s health, breaker and availability as the traffic control sees them', async () => {
    const before = total(await registry.metrics(), 'gatehouse_requests_total');
    assert.equal((await get(`${gw.url}/down`)).status, 502);
    const text = await scrapeWhen(registry, before + 1);
    const d = `upstream="d",target="${down}"`;
    assert.ok((sample(text, 'gatehouse_upstream_attempts_total', `${d},outcome="connect_failure"`) ?? 0) >= 1);
    assert.equal(sample(text, 'gatehouse_target_breaker_state', d), 2, 'one failure opened the breaker');
    assert.equal(sample(text, 'gatehouse_target_available', d), 0);
    assert.equal(sample(text, 'gatehouse_target_healthy', d), 1, 'no health checks: healthy');
    const u = `upstream="u",target="${upstream.url}"`;
    assert.equal(sample(text, 'gatehouse_target_breaker_state', u), 0);
    gw.instance.gateway.setTargetHealth('u', upstream.url, false, 'test');
    let now = await registry.metrics();
    assert.equal(sample(now, 'gatehouse_target_healthy', u), 0);
    assert.equal(sample(now, 'gatehouse_target_available', u), 0);
    gw.instance.gateway.setTargetHealth('u', upstream.url, true, 'test');
    now = await registry.metrics();
    assert.equal(sample(now, 'gatehouse_target_healthy', u), 1);
    assert.equal(sample(now, 'gatehouse_target_available', u), 1);
  });

  it('counts rate-limit decisions by route', async () => {
    const before = total(await registry.metrics(), 'gatehouse_requests_total');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(`${gw.url}/limited`)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const text = await scrapeWhen(registry, before + 3);
    assert.equal(sample(text, 'gatehouse_rate_limit_decisions_total', 'route="limited",decision="allowed"'), 2);
    assert.equal(sample(text, 'gatehouse_rate_limit_decisions_total', 'route="limited",decision="limited"'), 1);
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="limited",method="GET",status_class="4xx",reason="rate_limited"'), 1);
    assert.equal(sample(text, 'gatehouse_rate_limit_decisions_total', 'route="api",decision="allowed"'), undefined, 'no rate limit on api');
  });

  it('keeps the series count fixed across 10,000 distinct paths', async () => {
    const paths = (n: number, from: number) => Array.from({ length: n }, (_, i) => `/api/p${from + i}?q=${from + i}`);
    const send = async (list: string[]) => {
      // 20 at a time: enough to be quick, few enough for the loopback's ports.
      for (let i = 0; i < list.length; i += 20) await Promise.all(list.slice(i, i + 20).map(async (p) => assert.equal((await get(`${gw.url}${p}`)).status, 200)));
    };
    await send(paths(100, 0));
    const before = gatehouseSamples(await scrapeWhen(registry, 112)).length;
    await send(paths(9_900, 100));
    const text = await scrapeWhen(registry, 10_012);
    assert.equal(gatehouseSamples(text).length, before);
    assert.ok(!text.includes('/api/p'), 'no path appears in a label');
    assert.equal(sample(text, 'gatehouse_requests_total', 'route="api",method="GET",status_class="2xx",reason="none"'), 10_005);
  });

  it('passes promtool check metrics', { skip: missing('promtool') }, async () => {
    assert.equal(promtoolProblems(await registry.metrics()), '');
  });
});
