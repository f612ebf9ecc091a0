/**
 * `workers: 2` in the real process: node:cluster workers share the listener, the primary applies every
 * reload in all of them (prepare, then commit) or in none, merges their snapshots for GET /snapshot on the
 * admin listener, replaces a worker that dies and drains them all on SIGTERM. Which worker served a request
 * is read from its access log line (each line carries the serving pid; workers write to the primary's stdout).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { exitOf, get, jsonLines, killIfRunning, pidAlive, poll, runCli, saveAtomically, type Answer } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';
import type { GatewaySnapshot } from '../../src/runtime/snapshot.ts';

/** What the primary logs when a worker dies (src/process/cluster.ts). */
const WORKER_DIED = 'worker died; starting a replacement';

let upstream: FakeUpstream;
let gw: SpawnedGateway | undefined;
const workerPids = new Set<number>();

before(async () => {
  const answer = echo('u');
  upstream = await startUpstream((req, res, received) => {
    if (req.url?.startsWith('/slow')) setTimeout(() => answer(req, res, received), 400);
    else answer(req, res, received);
  });
});
afterEach(() => {
  // After a failed test: the workers first, while they are still children of our child (so the pids are
  // ours), then the primary.
  const primary = gw?.proc;
  for (const pid of workerPids) if (primary?.exitCode === null && parentOf(pid) === primary.pid) process.kill(pid, 'SIGKILL');
  workerPids.clear();
  killIfRunning(primary);
});
after(async () => {
  await upstream.close();
});

interface Fixture {
  readonly file: string;
  /** The config text: a route per name to upstream u, plus `upstreams` lines (YAML, indented by two). */
  text(routes: string[], upstreams?: string[]): string;
}

function fixture(workers = 2): Fixture {
  const file = join(tempDir('gatehouse-workers-'), 'gatehouse.yaml');
  return {
    file,
    text: (routes, upstreams = []) => [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      `workers: ${workers}`,
      'upstreams:',
      `  u: { targets: [{ url: "${upstream.url}" }] }`,
      ...upstreams,
      'routes:',
      ...routes.map((r) => `  - { name: ${r}, match: { path: /${r} }, upstream: u }`),
    ].join('\n'),
  };
}

async function start(f: Fixture, routes: string[]): Promise<SpawnedGateway> {
  writeFileSync(f.file, f.text(routes));
  gw = await spawnGateway(['start', '-c', f.file]);
  return gw;
}

/** The parent pid of `pid`, from /proc (Linux). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

let requests = 0;

/** GET on a fresh connection; resolves with the answer and the pid whose access log line has its request ID. */
async function served(g: SpawnedGateway, path: string): Promise<{ answer: Answer; pid: number }> {
  const id = `workers-${process.pid}-${++requests}`;
  const answer = await get(`${g.url}${path}`, { 'x-request-id': id });
  const line = await poll(async () => jsonLines(g.stdoutLines).find((l) => l.requestId === id), `the access log line of ${id}`, 5000, 10);
  assert.equal(typeof line.pid, 'number', 'access log lines carry the serving pid');
  const pid = line.pid as number;
  workerPids.add(pid);
  return { answer, pid };
}

/** Requests `path` until `want` distinct pids (beyond `exclude`) served it, at most `max` times; all must be 200. */
async function pidsServing(g: SpawnedGateway, path: string, want: number, max = 60, exclude: readonly number[] = []): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < max && [...pids].filter((p) => !exclude.includes(p)).length < want; i++) {
    const { answer, pid } = await served(g, path);
    assert.equal(answer.status, 200, `${path} from pid ${pid}: ${answer.body}`);
    assert.equal(answer.headers['x-upstream'], 'u');
    pids.add(pid);
  }
  return pids;
}

/** GET /snapshot on the primary's admin listener. */
async function snapshotOf(g: SpawnedGateway): Promise<GatewaySnapshot> {
  const answer = await get(`${g.adminUrl}/snapshot`);
  assert.equal(answer.status, 200, answer.body);
  return JSON.parse(answer.body) as GatewaySnapshot;
}

/** Polls GET /snapshot until `done` accepts one (bounded); the error shows the last one seen. */
async function snapshotWhen(g: SpawnedGateway, done: (s: GatewaySnapshot) => boolean, what: string, timeoutMs = 5000): Promise<GatewaySnapshot> {
  let last: GatewaySnapshot | undefined;
  try {
    return await poll(async () => (done(last = await snapshotOf(g)) ? last : undefined), what, timeoutMs, 100);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last snapshot: ${JSON.stringify(last)}`, { cause: error });
  }
}

const SNAPSHOT_KEYS = ['inFlight', 'reasons', 'requests', 'statusClasses', 'targets', 'workers'];
const TARGET_KEYS = ['attempts', 'available', 'breaker', 'failures', 'healthy', 'inFlight', 'latencyEwmaMs', 'upstream', 'url'];

describe('workers: 2', () => {
  it('serves requests from two worker processes, children of the primary', async () => {
    const g = await start(fixture(), ['a']);
    const pids = await pidsServing(g, '/a', 2);
    assert.equal(pids.size, 2, `two pids served: ${[...pids].join(', ')}`);
    for (const pid of pids) {
      assert.notEqual(pid, g.proc.pid, 'the primary does not serve');
      assert.equal(parentOf(pid), g.proc.pid, `pid ${pid} is a worker of the primary`);
    }
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('applies a reload (a file change) in both workers', async () => {
    const f = fixture();
    const g = await start(f, ['a']);
    assert.equal((await served(g, '/b')).answer.status, 404);
    saveAtomically(f.file, f.text(['a', 'b']));
    await g.waitForLog('config reloaded', 10_000);
    // The primary logs the reload once every worker has applied it: no request may see the old table now.
    const pids = await pidsServing(g, '/b', 2);
    assert.equal(pids.size, 2, `the new route answered from two pids: ${[...pids].join(', ')}`);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('rejects a reload the workers cannot build: no worker serves any of it, and a later good one applies', async () => {
    const f = fixture();
    const g = await start(f, ['a']);
    // The CA path exists, so the file validates in the primary; reading it as a file fails in every worker
    // (EISDIR) while it prepares, so the primary discards the config everywhere. SIGHUP, not the watcher:
    // a save this soon after the start can land before the watcher's first scan has finished.
    saveAtomically(f.file, f.text(['a', 'b'], [`  v: { targets: [{ url: "https://127.0.0.1:1" }], tls: { ca: "${tempDir()}" } }`]));
    g.proc.kill('SIGHUP');
    const failed = JSON.parse(await g.waitForLog('config reload failed', 10_000)) as { err?: { message?: string } };
    assert.match(failed.err?.message ?? '', /^worker \d+: .*EISDIR/);
    const pids = new Set<number>();
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      const { answer, pid } = await served(g, '/b');
      assert.equal(answer.status, 404, `pid ${pid} serves none of the rejected config`);
      pids.add(pid);
    }
    assert.equal(pids.size, 2, 'both workers answered');
    saveAtomically(f.file, f.text(['a', 'b']));
    await g.waitForLog('config reloaded', 10_000);
    assert.equal((await pidsServing(g, '/b', 2)).size, 2);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('merges both workers in GET /snapshot on the admin listener: workers 2, each target once', async () => {
    const g = await start(fixture(), ['a']);
    await pidsServing(g, '/a', 2);
    const snapshot = await snapshotWhen(g, (s) => s.workers === 2, 'both workers in the snapshot');
    assert.deepEqual(Object.keys(snapshot).sort(), SNAPSHOT_KEYS);
    assert.deepEqual(snapshot.targets.map((t) => [t.upstream, t.url, t.available, t.inFlight]), [['u', upstream.url, true, 0]]);
    assert.deepEqual(Object.keys(snapshot.targets[0]!).sort(), TARGET_KEYS);
    assert.equal(snapshot.inFlight, 0);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('answers GET /snapshot in the same shape with one worker', async () => {
    const g = await start(fixture(1), ['a']);
    assert.equal((await served(g, '/a')).answer.status, 200);
    const snapshot = await snapshotOf(g);
    assert.equal(snapshot.workers, 1);
    assert.deepEqual(Object.keys(snapshot).sort(), SNAPSHOT_KEYS);
    assert.deepEqual(snapshot.targets.map((t) => [t.upstream, t.url]), [['u', upstream.url]]);
    assert.deepEqual(Object.keys(snapshot.targets[0]!).sort(), TARGET_KEYS);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('shows the sum of both workers\' counts in GET /snapshot after known traffic', async () => {
    const g = await start(fixture(), ['a']);
    const N = 40;
    const ids = Array.from({ length: N }, (_, i) => `snapshot-${process.pid}-${i}`);
    // One after another, each on a new connection, so the cluster spreads them over both workers.
    for (const id of ids) assert.equal((await get(`${g.url}/a`, { 'x-request-id': id })).status, 200);
    const lines = await poll(async () => {
      const found = jsonLines(g.stdoutLines).filter((l) => ids.includes(l.requestId as string));
      return found.length === N ? found : undefined;
    }, `the ${N} access log lines`, 5000);
    const pids = new Set(lines.map((l) => l.pid as number));
    for (const pid of pids) workerPids.add(pid);
    assert.equal(pids.size, 2, `both workers served some: ${[...pids].join(', ')}`);
    const snapshot = await snapshotWhen(g, (s) => s.requests === N, `requests to sum to ${N}`);
    assert.equal(snapshot.workers, 2);
    assert.deepEqual(snapshot.statusClasses, { '2xx': N });
    assert.equal(snapshot.inFlight, 0);
    assert.equal(snapshot.targets.length, 1, 'the target is listed once');
    const [target] = snapshot.targets;
    assert.deepEqual([target!.attempts, target!.failures, target!.inFlight], [N, 0, 0]);
    assert.equal(typeof target!.latencyEwmaMs, 'number');
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('replaces a worker killed with SIGKILL, with the current config, and keeps serving', async () => {
    const f = fixture();
    const g = await start(f, ['a']);
    const [victim, survivor] = [...await pidsServing(g, '/a', 2)] as [number, number];
    assert.ok(survivor, 'two workers to begin with');
    saveAtomically(f.file, f.text(['a', 'b']));
    await g.waitForLog('config reloaded', 10_000);

    process.kill(victim, 'SIGKILL');
    const died = JSON.parse(await g.waitForLog(WORKER_DIED, 10_000)) as { workerPid: number; signal: string };
    assert.equal(died.workerPid, victim);
    assert.equal(died.signal, 'SIGKILL');
    await until(() => !pidAlive(victim), 5000, 'the killed worker to be gone');

    const pids = await pidsServing(g, '/b', 1, 200, [victim, survivor]);
    const replacement = [...pids].find((p) => p !== survivor);
    assert.ok(replacement, `a replacement worker served /b (saw ${[...pids].join(', ')})`);
    assert.ok(!pids.has(victim));
    assert.equal(parentOf(replacement), g.proc.pid);
    assert.equal(g.proc.exitCode, null, 'the primary lives on');
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('drains every worker on SIGTERM to the primary: in-flight requests finish and the process exits 0', async () => {
    const g = await start(fixture(), ['a', 'slow']);
    const pids = await pidsServing(g, '/a', 2);
    const before = upstream.received.length;
    const slow = Array.from({ length: 4 }, (_, i) => get(`${g.url}/slow/${i}`, {}, 10_000));
    await until(() => upstream.received.length - before === 4, 5000, 'the slow requests at the upstream');
    g.proc.kill('SIGTERM');
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
    assert.equal(await exitOf(g.proc, 15_000), 0, g.logLines.join('\n'));
    await until(() => [...pids].every((p) => !pidAlive(p)), 5000, 'every worker to exit');
    assert.deepEqual(jsonLines(g.logLines).filter((l) => l.msg === WORKER_DIED), [], 'a drain is not a death');
  });

  it('fails the start with exit 1 when a worker cannot start, instead of replacing workers forever', async () => {
    // The listen port is taken: the config is valid, but every worker's listen fails.
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    const dir = tempDir('gatehouse-workers-');
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: ${port} }
admin: { enabled: false }
workers: 2
upstreams: { u: { targets: [{ url: "http://127.0.0.1:1" }] } }
routes: [{ name: a, match: { path: /a }, upstream: u }]
`);
    const r = await runCli(['start', '-c', file], 20_000).finally(() => taken.close());
    assert.equal(r.signal, null, `the process exited by itself:\n${r.stderr.slice(0, 2000)}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EADDRINUSE/, 'the reason is logged');
    assert.match(r.stderr, /GW_ERR_LISTEN gateway listener cannot bind/, 'the primary reports what the workers could not do');
    assert.deepEqual(jsonLines(r.stderr.split('\n')).filter((l) => l.msg === WORKER_DIED), []);
  });
});
