/**
 * Active health checks end to end. In one process: a killed target leaves within about interval ×
 * unhealthyAfter and traffic moves away from it; it comes back after healthyAfter passes. With `workers: 2`
 * (the real process): the primary runs the checks, both workers stop sending to the down target, and a
 * worker that replaces a dead one is told the target is down. Breakers are off here, so only health checks
 * can keep traffic away (a worker still sending to the dead target would answer 502).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.ts';
import { startInProcess } from '../../src/process/in-process.ts';
import type { Workers } from '../../src/process/workers.ts';
import type { GatewaySnapshot } from '../../src/runtime/snapshot.ts';
import { get, jsonLines, killIfRunning, poll, type Answer } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, testConfig, type SpawnedGateway } from '../helpers/start-gateway.ts';

const INTERVAL_MS = 100;
const UNHEALTHY_AFTER = 2;
const CHECK = { path: '/health', interval: `${INTERVAL_MS}ms`, timeout: '2s', healthyAfter: 2, unhealthyAfter: UNHEALTHY_AFTER };

let stable: FakeUpstream;
let flaky: http.Server | undefined;
let flakyPort = 0;
let inProcess: Workers | undefined;
let spawned: SpawnedGateway | undefined;

/** The target that is killed and revived: answers as "flaky" on one fixed port. */
async function startFlaky(port = 0): Promise<void> {
  const server = http.createServer((req, res) => echo('flaky')(req, res, { method: '', url: '', headers: {}, rawHeaders: [], bodyBytes: 0, aborted: false }));
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  flakyPort = (server.address() as { port: number }).port;
  flaky = server;
}

async function killFlaky(): Promise<void> {
  const server = flaky!;
  flaky = undefined;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

before(async () => {
  stable = await startUpstream(echo('stable'));
});
afterEach(async () => {
  await inProcess?.shutdown();
  inProcess = undefined;
  killIfRunning(spawned?.proc);
  spawned = undefined;
  if (flaky) await killFlaky();
});
after(async () => {
  await stable.close();
});

const flakyUrl = () => `http://127.0.0.1:${flakyPort}`;

function upstreamConfig() {
  return { targets: [{ url: stable.url }, { url: flakyUrl() }], healthCheck: CHECK, circuitBreaker: false as const };
}

/** Answers of `n` requests, by which upstream answered (or the status when it was not 200). */
async function spread(base: string, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer: Answer = await get(`${base}/r`);
    seen.push(answer.status === 200 ? String(answer.headers['x-upstream']) : String(answer.status));
  }
  return seen;
}

function flakyIn(snapshot: GatewaySnapshot) {
  return snapshot.targets.find((t) => t.url === flakyUrl());
}

describe('health checks in one process', () => {
  it('takes a killed target out within interval × unhealthyAfter and brings it back after healthyAfter passes', async () => {
    await startFlaky();
    const config = testConfig({ upstreams: { u: upstreamConfig() }, routes: [{ name: 'r', match: { path: '/r' }, upstream: 'u' }] });
    inProcess = await startInProcess(config, createLogger('silent'));
    assert.deepEqual(new Set(await spread(inProcess.url, 4)), new Set(['stable', 'flaky']));

    await killFlaky();
    const workers = inProcess;
    // interval × unhealthyAfter, one more interval for where the kill fell between two checks, and slack for
    // a busy machine (refused connections fail at once).
    await poll(async () => (flakyIn(await workers.snapshot())?.healthy === false ? true : undefined), 'the killed target to leave', INTERVAL_MS * (UNHEALTHY_AFTER + 1) + 1500, 10);
    const snapshot = await workers.snapshot();
    assert.deepEqual([flakyIn(snapshot)?.healthy, flakyIn(snapshot)?.available, flakyIn(snapshot)?.breaker], [false, false, 'off']);
    assert.deepEqual(new Set(await spread(workers.url, 10)), new Set(['stable']), 'no request goes to the down target');

    await startFlaky(flakyPort);
    await poll(async () => (flakyIn(await workers.snapshot())?.healthy === true ? true : undefined), 'the revived target to come back', 3000, 10);
    assert.deepEqual(new Set(await spread(workers.url, 4)), new Set(['stable', 'flaky']));
  });

  it('keeps a target\'s health across a reload that keeps healthCheck, and resets it when healthCheck changes', async () => {
    await startFlaky();
    const routes = [{ name: 'r', match: { path: '/r' }, upstream: 'u' }];
    inProcess = await startInProcess(testConfig({ upstreams: { u: upstreamConfig() }, routes }), createLogger('silent'));
    const workers = inProcess;
    await killFlaky();
    await poll(async () => (flakyIn(await workers.snapshot())?.healthy === false ? true : undefined), 'the killed target to leave', 3000, 10);
    await workers.reload(testConfig({ upstreams: { u: { ...upstreamConfig(), keepAlive: '3s' } }, routes }));
    assert.equal(flakyIn(await workers.snapshot())?.healthy, false, 'same healthCheck: still down');
    await workers.reload(testConfig({ upstreams: { u: { ...upstreamConfig(), healthCheck: { ...CHECK, unhealthyAfter: 1000 } } }, routes }));
    assert.equal(flakyIn(await workers.snapshot())?.healthy, true, 'changed healthCheck: healthy until it fails again');
  });
});

describe('health checks with workers: 2', () => {
  let requests = 0;

  async function served(g: SpawnedGateway): Promise<{ upstream: string; pid: number }> {
    const id = `health-${process.pid}-${++requests}`;
    const answer = await get(`${g.url}/r`, { 'x-request-id': id });
    const line = await poll(async () => jsonLines(g.stdoutLines).find((l) => l.requestId === id), `the access log line of ${id}`, 5000, 10);
    return { upstream: answer.status === 200 ? String(answer.headers['x-upstream']) : String(answer.status), pid: line.pid as number };
  }

  /** Requests until `want` distinct pids not in `exclude` answered (at most 60); returns every answer. */
  async function fromPids(g: SpawnedGateway, want: number, exclude: readonly number[] = []): Promise<Array<{ upstream: string; pid: number }>> {
    const answers: Array<{ upstream: string; pid: number }> = [];
    for (let i = 0; i < 60 && new Set(answers.map((a) => a.pid).filter((p) => !exclude.includes(p))).size < want; i++) answers.push(await served(g));
    // A few more, so each worker's round-robin has reached every target it still considers.
    for (let i = 0; i < 6; i++) answers.push(await served(g));
    return answers;
  }

  async function snapshotOf(g: SpawnedGateway): Promise<GatewaySnapshot> {
    return JSON.parse((await get(`${g.adminUrl}/snapshot`)).body) as GatewaySnapshot;
  }

  it('runs the checks in the primary; both workers, and a replacement worker, stop sending to the down target', async () => {
    await startFlaky();
    const file = join(tempDir('gatehouse-health-'), 'gatehouse.yaml');
    writeFileSync(file, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'workers: 2',
      'upstreams:',
      '  u:',
      `    targets: [{ url: "${stable.url}" }, { url: "${flakyUrl()}" }]`,
      `    healthCheck: ${JSON.stringify(CHECK)}`,
      '    circuitBreaker: false',
      'routes:',
      '  - { name: r, match: { path: /r }, upstream: u }',
    ].join('\n'));
    const checksBefore = stable.received.filter((r) => r.url === '/health').length;
    const g = spawned = await spawnGateway(['start', '-c', file]);
    const before = await fromPids(g, 2);
    assert.ok(before.some((a) => a.upstream === 'flaky'), 'the flaky target served before it was killed');
    await poll(async () => (stable.received.filter((r) => r.url === '/health').length >= checksBefore + 3 ? true : undefined), 'checks of the stable target', 3000, 10);

    await killFlaky();
    const down = await g.waitForLog(`target ${flakyUrl()} of u: down after ${UNHEALTHY_AFTER} failed checks`, 3000);
    assert.equal(jsonLines([down])[0]?.pid, g.proc.pid, 'the primary decided it');
    await poll(async () => (flakyIn(await snapshotOf(g))?.healthy === false ? true : undefined), 'both workers to hear', INTERVAL_MS + 1000, 20);
    const after = await fromPids(g, 2);
    assert.equal(new Set(after.map((a) => a.pid)).size, 2, 'both workers answered');
    assert.deepEqual(new Set(after.map((a) => a.upstream)), new Set(['stable']), 'no worker sent to the down target');

    const victim = after[0]!.pid;
    process.kill(victim, 'SIGKILL');
    await g.waitForLog('worker died; starting a replacement', 5000);
    const fresh = await fromPids(g, 1, after.map((a) => a.pid));
    const replacement = fresh.filter((a) => !after.some((b) => b.pid === a.pid));
    assert.ok(replacement.length > 0, 'the replacement worker answered');
    assert.deepEqual(new Set(fresh.map((a) => a.upstream)), new Set(['stable']), 'the replacement knows the target is down');
    const downLines = g.logLines.filter((l) => l.includes(`target ${flakyUrl()} of u: down`));
    assert.equal(downLines.length, 1, 'logged once, by the primary');
    assert.equal(await g.stop('SIGTERM'), 0);
  });
});
