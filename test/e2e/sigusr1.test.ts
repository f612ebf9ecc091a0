/**
 * SIGUSR1 opens Node's inspector on 127.0.0.1:9229 by default, handing a debugger to any local process that
 * can signal the gateway. Every Gatehouse process runs with --disable-sigusr1: the bin (started as users
 * start it, through its shebang), the cluster workers (whatever flags the primary has), and the npm start script. A SIGUSR1 then opens
 * nothing, and the gateway keeps serving.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { get, jsonLines, poll } from '../helpers/e2e-process.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';
import { workerExecArgv } from '../../src/process/cluster.ts';
import { echoUpstreamPerFile } from '../helpers/e2e-file.ts';

const INSPECTOR_PORT = 9229;
/** How long a SIGUSR1 gets to open the inspector: without the flag it listens within milliseconds. */
const INSPECTOR_WINDOW_MS = 1000;

let gw: SpawnedGateway | undefined;
const upstream = echoUpstreamPerFile(() => gw);

/** Resolves with the connect error's code, or 'connected' if something listens on the port. */
function connectTo(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => { socket.destroy(); resolve('timeout'); });
    socket.once('connect', () => { socket.destroy(); resolve('connected'); });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Fails if 127.0.0.1:9229 accepts a connection at any check within the window (20 checks). */
async function assertInspectorStaysClosed(g: SpawnedGateway): Promise<void> {
  for (let i = 0; i < 20; i++) {
    assert.equal(await connectTo(INSPECTOR_PORT), 'ECONNREFUSED', `something listens on 127.0.0.1:${INSPECTOR_PORT} after SIGUSR1`);
    assert.ok(!g.logLines.some((l) => l.includes('Debugger listening')), g.logLines.join('\n'));
    await new Promise((r) => setTimeout(r, INSPECTOR_WINDOW_MS / 20));
  }
}

async function startVia(workers: number, via: 'main' | 'bin'): Promise<SpawnedGateway> {
  const config = join(tempDir('gatehouse-sigusr1-'), 'gatehouse.yaml');
  writeFileSync(config, [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { enabled: false }',
    `workers: ${workers}`,
    'upstreams:',
    `  u: { targets: [{ url: "${upstream().url}" }] }`,
    'routes:',
    '  - { name: a, match: { path: /a }, upstream: u }',
  ].join('\n'));
  return gw = await spawnGateway(['start', '-c', config], 15_000, via);
}

/** Node's flags of a running process, from /proc (Linux). */
function nodeFlagsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg.startsWith('--'));
}

describe('SIGUSR1', () => {
  /** Set when someone else's inspector or service holds 9229: the checks below would mean nothing. */
  let portTaken: string | undefined;
  before(async () => {
    const precondition = await connectTo(INSPECTOR_PORT);
    if (precondition !== 'ECONNREFUSED') portTaken = `127.0.0.1:${INSPECTOR_PORT} is not free (${precondition})`;
  });

  it('to the gateway started through the bin opens no inspector, and the gateway keeps serving', async (t) => {
    if (portTaken) return t.skip(portTaken);
    const g = await startVia(1, 'bin');
    assert.ok(nodeFlagsOf(g.proc.pid!).includes('--disable-sigusr1'), `the bin runs node with the flag: ${nodeFlagsOf(g.proc.pid!).join(' ')}`);
    process.kill(g.proc.pid!, 'SIGUSR1');
    await assertInspectorStaysClosed(g);
    assert.equal((await get(`${g.url}/a`)).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('to both cluster workers opens no inspector, whatever flags the primary had, and they keep serving', async (t) => {
    if (portTaken) return t.skip(portTaken);
    // Started without the bin, so the primary has no --disable-sigusr1 for the workers to inherit: the flag
    // must come from cluster.setupPrimary. The primary itself is not signalled here (it would open one).
    const g = await startVia(2, 'main');
    assert.ok(!nodeFlagsOf(g.proc.pid!).includes('--disable-sigusr1'));
    const pids = new Set<number>();
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      const id = `usr1-${i}`;
      assert.equal((await get(`${g.url}/a`, { 'x-request-id': id })).status, 200);
      const line = await poll(async () => jsonLines(g.stdoutLines).find((l) => l.requestId === id), `the access log line of ${id}`, 5000);
      pids.add(line.pid as number);
    }
    assert.equal(pids.size, 2, 'both workers served');
    for (const pid of pids) assert.ok(nodeFlagsOf(pid).includes('--disable-sigusr1'), `worker ${pid}: ${nodeFlagsOf(pid).join(' ')}`);
    for (const pid of pids) process.kill(pid, 'SIGUSR1');
    await assertInspectorStaysClosed(g);
    assert.equal((await get(`${g.url}/a`)).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('is disabled in the npm start script and for workers whatever started the primary', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    // `exec`: the shell npm starts becomes node, so npm's forwarded SIGTERM reaches the gateway (signals.test.ts).
    assert.match(pkg.scripts.start!, /^exec node --disable-sigusr1 /);
    assert.deepEqual(workerExecArgv([]), ['--disable-sigusr1']);
    assert.deepEqual(workerExecArgv(['--enable-source-maps', '--disable-sigusr1']), ['--enable-source-maps', '--disable-sigusr1'], 'not added twice');
  });
});
