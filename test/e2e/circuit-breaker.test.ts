/**
 * Circuit breakers end to end, in-process: a two-target upstream where one target refuses connections
 * stops getting traffic once its breaker opens (no more 502s), and a half-open probe closes the breaker once
 * the target listens again. With every breaker open the gateway answers 503 upstream_circuit_open; with no
 * target healthy, 503 no_healthy_upstream.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import type { TargetEvent } from '../../src/upstream/target-events.ts';
import { get } from '../helpers/e2e-process.ts';
import { closedPort, echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { startGateway, type TestGateway } from '../helpers/start-gateway.ts';

let good: FakeUpstream;
let gw: TestGateway | undefined;
let revived: http.Server | undefined;

before(async () => {
  good = await startUpstream(echo('good'));
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  if (revived) {
    revived.closeAllConnections();
    await new Promise((resolve) => revived!.close(resolve));
    revived = undefined;
  }
});
after(async () => {
  await good.close();
});

function config(targets: string[], circuitBreaker: Record<string, unknown> | false) {
  return {
    upstreams: { u: { targets: targets.map((url) => ({ url })), circuitBreaker } },
    routes: [{ name: 'r', match: { path: '/r' }, upstream: 'u' }],
  };
}

async function listenOn(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => echo('revived')(req, res, { method: '', url: '', headers: {}, rawHeaders: [], bodyBytes: 0, aborted: false }));
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function events(g: TestGateway): TargetEvent[] {
  const seen: TargetEvent[] = [];
  g.instance.gateway.targetEvents.on((e) => seen.push(e));
  return seen;
}

describe('circuit breaker, end to end', () => {
  it('stops sending to a target that refuses connections, then re-admits it through a half-open probe', async () => {
    const port = await closedPort();
    const bad = `http://127.0.0.1:${port}`;
    // openFor must outlast the ten requests below on a loaded machine, or one of them becomes the probe.
    gw = await startGateway(config([good.url, bad], { consecutiveFailures: 3, openFor: '1500ms', halfOpenRequests: 1 }));
    const seen = events(gw);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(`${gw.url}/r`)).status);
    assert.deepEqual(statuses, [200, 502, 200, 502, 200, 502], 'round-robin alternates until the third failure');
    assert.deepEqual(seen.map((e) => [e.kind, e.url, e.state, e.why]), [['breaker', bad, 'open', 'after 3 consecutive failures']]);
    for (let i = 0; i < 10; i++) {
      const answer = await get(`${gw.url}/r`);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.headers['x-upstream'], 'good');
    }
    const [target] = gw.instance.gateway.snapshot().targets.filter((t) => t.url === bad);
    assert.equal(target?.breaker, 'open');
    assert.equal(target?.healthy, true, 'the breaker, not health, keeps it out');

    revived = await listenOn(port);
    await new Promise((r) => setTimeout(r, 1550));
    const upstreams = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const answer = await get(`${gw.url}/r`);
      assert.equal(answer.status, 200, answer.body);
      upstreams.add(String(answer.headers['x-upstream']));
    }
    assert.deepEqual([...upstreams].sort(), ['good', 'revived'], 'the probe passed and traffic is shared again');
    assert.deepEqual(seen.map((e) => e.state), ['open', 'half-open', 'closed']);
    assert.equal(seen[1]?.why, 'after 1500ms open');
    assert.equal(seen[2]?.why, 'after 1 successful probe');
    assert.equal(gw.instance.gateway.snapshot().targets.find((t) => t.url === bad)?.breaker, 'closed');
  });

  it('opens again when the half-open probe fails', async () => {
    const bad = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway(config([good.url, bad], { consecutiveFailures: 1, openFor: '100ms', halfOpenRequests: 1 }));
    const seen = events(gw);
    assert.equal((await get(`${gw.url}/r`)).status, 200);
    assert.equal((await get(`${gw.url}/r`)).status, 502);
    await new Promise((r) => setTimeout(r, 150));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${gw.url}/r`)).status);
    assert.equal(statuses.filter((s) => s === 502).length, 1, `one probe failed: ${statuses.join(' ')}`);
    assert.deepEqual(seen.map((e) => [e.state, e.why]), [['open', 'after a failure'], ['half-open', 'after 100ms open'], ['open', 'after a failed probe']]);
  });

  it('answers 503 upstream_circuit_open when every target\'s breaker is open', async () => {
    const bad = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway(config([bad], { consecutiveFailures: 2, maxEjectedPercent: 100 }));
    assert.equal((await get(`${gw.url}/r`)).status, 502);
    assert.equal((await get(`${gw.url}/r`)).status, 502);
    const refused = await get(`${gw.url}/r`);
    assert.equal(refused.status, 503);
    assert.equal((JSON.parse(refused.body) as { error: { reason: string } }).error.reason, 'upstream_circuit_open');
    await until(() => gw!.accessLog().some((l) => l.reason === 'upstream_circuit_open'), 2000, 'the access log line');
  });

  it('never ejects a one-target upstream at the default maxEjectedPercent', async () => {
    const bad = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway(config([bad], { consecutiveFailures: 1 }));
    for (let i = 0; i < 4; i++) assert.equal((await get(`${gw.url}/r`)).status, 502);
    assert.equal(gw.instance.gateway.snapshot().targets[0]?.breaker, 'closed');
  });

  it('answers 503 no_healthy_upstream when targets are down but their breakers are closed', async () => {
    gw = await startGateway(config([good.url], {}));
    assert.equal(gw.instance.gateway.setTargetHealth('u', good.url, false, 'after 3 failed checks (test)'), true);
    const refused = await get(`${gw.url}/r`);
    assert.equal(refused.status, 503);
    assert.equal((JSON.parse(refused.body) as { error: { reason: string } }).error.reason, 'no_healthy_upstream');
    gw.instance.gateway.setTargetHealth('u', good.url, true, 'after 2 passed checks (test)');
    assert.equal((await get(`${gw.url}/r`)).status, 200);
  });

  it('keeps sending to a failing target when circuitBreaker is false', async () => {
    const bad = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway(config([good.url, bad], false));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await get(`${gw.url}/r`)).status);
    assert.equal(statuses.filter((s) => s === 502).length, 6);
    assert.equal(gw.instance.gateway.snapshot().targets.find((t) => t.url === bad)?.breaker, 'off');
  });
});
