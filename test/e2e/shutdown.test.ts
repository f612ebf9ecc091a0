/**
 * Graceful shutdown of the real process: SIGTERM (and SIGINT) stop accepting connections, turn /ready to
 * 503, let in-flight requests finish, and exit 0. server.drainTimeout bounds a request that never finishes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { exitOf, get, jsonLines, killIfRunning, poll, type Answer } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

// Long enough that the checks between the signal and the answers fit even on a busy 2-core CI box.
const SLOW_MS = 1000;

let slow: FakeUpstream;
let hang: FakeUpstream;
let gw: SpawnedGateway | undefined;

before(async () => {
  const answer = echo('slow');
  slow = await startUpstream((req, res, received) => { setTimeout(() => answer(req, res, received), SLOW_MS); });
  hang = await startUpstream(() => { /* never answers */ });
});
afterEach(() => killIfRunning(gw?.proc));
after(async () => {
  await Promise.all([slow.close(), hang.close()]);
});

let accessLogPath = '';

async function startGatewayProcess(drainTimeout: string): Promise<SpawnedGateway> {
  const dir = tempDir('gatehouse-shutdown-');
  accessLogPath = join(dir, 'access.log');
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
server: { drainTimeout: ${drainTimeout} }
log: { access: { path: ${JSON.stringify(accessLogPath)} } }
upstreams:
  slow: { targets: [{ url: "${slow.url}" }] }
  hang: { targets: [{ url: "${hang.url}" }], timeouts: { response: 60s } }
routes:
  - { name: slow, match: { path: /slow }, upstream: slow }
  - { name: hang, match: { path: /hang }, upstream: hang }
`);
  gw = await spawnGateway(['start', '-c', file]);
  return gw;
}

/** 'refused' if nothing accepts a TCP connection on the gateway's port any more, else 'accepted'. */
function connectOutcome(url: string): Promise<'refused' | 'accepted'> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    socket.setTimeout(1000, () => { socket.destroy(); reject(new Error('connect timed out')); });
    socket.on('connect', () => { socket.destroy(); resolve('accepted'); });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve('refused'); else reject(error);
    });
  });
}

/** Starts `n` requests on separate connections; resolves once the upstream has received all of them. */
async function inFlight(url: string, upstream: FakeUpstream, n: number): Promise<{ answers: Array<Promise<Answer>>; settled: () => number }> {
  const before = upstream.received.length;
  let settled = 0;
  const answers = Array.from({ length: n }, (_, i) => {
    const answer = get(`${url}/r${i}`, { 'x-request-id': `drain-${i}-0000` }, 10_000);
    answer.then(() => settled++, () => settled++);
    return answer;
  });
  await until(() => upstream.received.length - before === n, 5000, `${n} requests at the upstream`);
  return { answers, settled: () => settled };
}

describe('graceful shutdown on SIGTERM', () => {
  it('finishes every in-flight request with 200, refuses new connections, turns /ready 503 and exits 0', async () => {
    const g = await startGatewayProcess('10s');
    assert.equal((await get(`${g.adminUrl}/ready`)).status, 200);
    const { answers, settled } = await inFlight(`${g.url}/slow`, slow, 6);
    const signalledAt = performance.now();
    g.proc.kill('SIGTERM');

    const notReady = await poll(async () => {
      const r = await get(`${g.adminUrl}/ready`, {}, 1000);
      return r.status === 503 ? r : undefined;
    }, '/ready to turn 503', SLOW_MS, 5);
    assert.deepEqual(JSON.parse(notReady.body), { status: 'not_ready' });
    assert.equal((await get(`${g.adminUrl}/live`, {}, 1000)).status, 200, '/live stays 200 while draining');
    await poll(async () => (await connectOutcome(g.url)) === 'refused' || undefined, 'new connections to be refused', SLOW_MS, 5);
    assert.equal(settled(), 0, 'the listener closed while the slow requests were still in flight');

    const results = await Promise.all(answers);
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      assert.equal(r.headers['x-upstream'], 'slow');
      assert.equal((JSON.parse(r.body) as { url: string }).url, `/slow/r${i}`);
      assert.equal(r.headers.connection, 'close', 'a draining gateway closes connections after the response');
    }
    assert.ok(performance.now() - signalledAt >= SLOW_MS * 0.8, 'the requests really were in flight at the signal');
    assert.equal(await exitOf(g.proc, 10_000), 0, g.logLines.join('\n'));
    const stopped = jsonLines(g.logLines).find((l) => typeof l.msg === 'string' && l.msg.startsWith('stopped'));
    assert.equal(stopped?.drained, true, g.logLines.join('\n'));
    assert.equal(slow.received.filter((r) => r.aborted).length, 0, 'no upstream request was cut');
    const logged = jsonLines(readFileSync(accessLogPath, 'utf8').split('\n')).filter((l) => String(l.requestId).startsWith('drain-'));
    assert.deepEqual(logged.map((l) => l.status), [200, 200, 200, 200, 200, 200], 'every drained request is in the access log');
  });

  it('exits 0 at once when nothing is in flight, even with an idle keep-alive connection open', async () => {
    const g = await startGatewayProcess('10s');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await get(`${g.url}/slow/warm`, {}, 5000, agent)).status, 200);
      assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'an idle keep-alive connection is open');
      const signalledAt = performance.now();
      g.proc.kill('SIGTERM');
      assert.equal(await exitOf(g.proc, 8000), 0);
      // The server's keep-alive timeout is 5 s and the drain timeout 10 s: waiting on the idle connection shows.
      assert.ok(performance.now() - signalledAt < 3000, 'the idle connection did not hold the drain');
    } finally {
      agent.destroy();
    }
  });
});

describe('graceful shutdown on SIGINT', () => {
  it('also lets an in-flight request finish and exits 0', async () => {
    const g = await startGatewayProcess('10s');
    const { answers } = await inFlight(`${g.url}/slow`, slow, 2);
    g.proc.kill('SIGINT');
    for (const r of await Promise.all(answers)) assert.equal(r.status, 200);
    assert.equal(await exitOf(g.proc, 10_000), 0);
  });
});

describe('drain timeout', () => {
  it('bounds a request that never finishes: the process exits 0 soon after server.drainTimeout', async () => {
    const g = await startGatewayProcess('500ms');
    const { answers } = await inFlight(`${g.url}/hang`, hang, 1);
    const outcome = answers[0]!.then((r) => `status ${r.status}`, (error: Error) => `error ${error.message}`);
    const signalledAt = performance.now();
    g.proc.kill('SIGTERM');
    assert.equal(await exitOf(g.proc, 5000), 0, g.logLines.join('\n'));
    const elapsed = performance.now() - signalledAt;
    assert.ok(elapsed >= 450, `waited for the drain timeout before cutting (exited after ${Math.round(elapsed)} ms)`);
    assert.ok(elapsed < 4000, `exited within a bound of the drain timeout (${Math.round(elapsed)} ms)`);

    assert.match(await outcome, /^error /, 'the unfinished request was cut, not answered');
    await until(() => hang.received.at(-1)!.aborted, 2000, 'the upstream to see its request aborted');
    const stopped = jsonLines(g.logLines).find((l) => typeof l.msg === 'string' && l.msg.startsWith('stopped'));
    assert.equal(stopped?.drained, false, g.logLines.join('\n'));
    assert.match(String(stopped?.msg), /drain timeout passed/);
    const logged = jsonLines(readFileSync(accessLogPath, 'utf8').split('\n')).filter((l) => l.requestId === 'drain-0-0000');
    assert.equal(logged.length, 1, 'the cut request still has its access log line');
    assert.equal(logged[0]!.route, 'hang');
  });
});
