/**
 * SIGTERM to the process a user or supervisor started drains the gateway and ends it, whichever way it was
 * started: `npm start`, `npx gatehouse start`, the bin directly, the bin of a packed and globally installed
 * tarball, and node as PID 1 of its own PID namespace (a container's ENTRYPOINT). The launcher may run the
 * gateway as a grandchild (npm -> shell -> node), so the gateway is found by the port it listens on (/proc),
 * and every gateway process found is killed in a finally if it outlived the test.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { exitOf, pidAlive, poll } from '../helpers/e2e-process.ts';
import { pidsListening } from '../helpers/listeners.ts';
import { tempDir } from '../helpers/start-gateway.ts';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 first on PATH, as on a machine with Node 24 installed (the system node here may be older). */
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };

function configFile(): string {
  const file = join(tempDir('gatehouse-signals-'), 'gatehouse.yaml');
  writeFileSync(file, `listen: { host: 127.0.0.1, port: 0 }
admin: { enabled: false }
upstreams: { u: { targets: [{ url: "http://127.0.0.1:9" }] } }
routes: [{ name: r, match: { path: / }, upstream: u }]
`);
  return file;
}

interface Launched {
  readonly launcher: ChildProcess;
  readonly output: () => string;
}

function launch(command: string, args: string[]): Launched {
  const launcher = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => { output += chunk.toString('utf8'); };
  launcher.stdout!.on('data', append);
  launcher.stderr!.on('data', append);
  return { launcher, output: () => output };
}

/** The gateway's port, from its "gateway listening" log line or the demo's banner. */
async function portOf(launched: Launched): Promise<number> {
  return poll(async () => {
    if (launched.launcher.exitCode !== null) throw new Error(`launcher exited early:\n${launched.output()}`);
    const match = /"url":"https?:\/\/127\.0\.0\.1:(\d+)"|running on \S*http:\/\/127\.0\.0\.1:(\d+)/.exec(launched.output());
    return match ? Number(match[1] ?? match[2]) : undefined;
  }, 'the gateway to listen', 15_000);
}

/**
 * Starts the gateway through `command`, sends `signal` to the launcher's PID (not the gateway's), and checks
 * that the launcher exits, the gateway drained ("stopped" logged when it logs at info), nothing listens
 * on its port any more and its process is gone.
 */
async function signalLauncher(command: string, args: string[], signal: NodeJS.Signals = 'SIGTERM', expectDrainLog = true): Promise<string> {
  const launched = launch(command, args);
  const gatewayPids: number[] = [];
  try {
    const port = await portOf(launched);
    gatewayPids.push(...pidsListening(port));
    assert.equal(gatewayPids.length, 1, `one process listens on ${port}: ${gatewayPids.join(', ')}`);
    launched.launcher.kill(signal);
    await exitOf(launched.launcher, 10_000);
    await poll(async () => (pidsListening(port).length === 0 && !pidAlive(gatewayPids[0]!)) || undefined,
      `the gateway (PID ${gatewayPids[0]}) to close port ${port} and exit after ${signal} to its launcher`, 10_000);
    if (expectDrainLog) assert.match(launched.output(), /"msg":"stopped"/);
    return launched.output();
  } finally {
    if (launched.launcher.exitCode === null && launched.launcher.signalCode === null) launched.launcher.kill('SIGKILL');
    for (const pid of gatewayPids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/**
 * npm pack (which builds dist/) and npm install -g into a temp prefix. Started when the file loads, so it
 * overlaps the tests that do not need it; it takes most of this file's time.
 */
async function installTarball(prefix: string): Promise<void> {
  const options = { cwd: root, env, encoding: 'utf8', timeout: 60_000 } as const;
  const pack = await execFileAsync('npm', ['pack', '--pack-destination', prefix, '--silent'], options);
  const tarball = join(prefix, pack.stdout.trim().split('\n').at(-1)!);
  try {
    await execFileAsync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { ...options, cwd: prefix });
  } catch (error) {
    throw new Error(`npm install -g failed (it needs the registry, or its cache, for the dependencies): ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
}

const globalPrefix = tempDir('gatehouse-global-');
const installing = installTarball(globalPrefix);
// Awaited by the tests that need it; a failure is theirs to report, not an unhandled rejection.
installing.catch(() => {});

describe('SIGTERM or SIGINT to the launching process', { timeout: 90_000 }, () => {
  it('drains a gateway started with npx gatehouse start', async () => {
    await signalLauncher('npx', ['gatehouse', 'start', '-c', configFile()]);
  });

  it('drains a gateway started with the bin directly', async () => {
    await signalLauncher(join(root, 'bin', 'gatehouse.js'), ['start', '-c', configFile()]);
  });

  it('drains the demo started with npm start on SIGINT', async () => {
    // The demo's services have fixed ports that the CLI tests' demo may hold for a moment: try again then.
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await signalLauncher('npm', ['start', '--', '--port', '0', '--admin-port', '0'], 'SIGINT', false);
        assert.doesNotMatch(output, /EADDRINUSE/);
        return;
      } catch (error) {
        if (attempt === 5 || !String(error).includes('EADDRINUSE')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  });

  describe('from a packed tarball', () => {
    const installed = join(globalPrefix, 'lib', 'node_modules', 'gatehouse-gateway');
    it('drains a gateway started with the globally installed bin', { timeout: 90_000 }, async () => {
      await installing;
      await signalLauncher(join(globalPrefix, 'bin', 'gatehouse'), ['start', '-c', configFile()]);
    });

    it('drains a gateway running as PID 1 of its own PID namespace, node on the entry as in a container', async (t) => {
      const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 10_000 });
      if (probe.status !== 0) {
        t.skip('unshare --pid is not permitted here');
        return;
      }
      await installing;
      const entry = join(installed, 'dist', 'main.js');
      // unshare stands in for the container runtime; the runtime signals PID 1, so the test signals the
      // gateway's own PID, found by its port.
      const launched = launch('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, entry, 'start', '-c', configFile()]);
      const pids: number[] = [];
      try {
        const port = await portOf(launched);
        pids.push(...pidsListening(port));
        assert.equal(pids.length, 1);
        assert.match(launched.output(), /"pid":1,/, 'the gateway is PID 1 in its namespace');
        process.kill(pids[0]!, 'SIGTERM');
        await exitOf(launched.launcher, 10_000);
        assert.equal(pidsListening(port).length, 0);
        assert.match(launched.output(), /"msg":"stopped"/);
      } finally {
        if (launched.launcher.exitCode === null) launched.launcher.kill('SIGKILL');
        for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  });
});

describe('the bin on a Node older than 24', () => {
  it('exits 1 naming the Node it found, and suggests no registry package', (t) => {
    const old = '/usr/bin/node';
    const version = spawnSync(old, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (version.status !== 0 || Number(/^v(\d+)/.exec(version.stdout)?.[1]) >= 24) {
      t.skip(`no Node older than 24 at ${old}`);
      return;
    }
    const run = spawnSync(old, [join(root, 'bin', 'gatehouse.js'), '--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^gatehouse: needs Node\.js 24 or newer; this is Node\.js \d+\.\S+ \(\/usr\/bin\/node\)\.\n/);
    assert.doesNotMatch(run.stderr, /gatehouse-gateway|npx -p|\n\s+at /, 'no registry package, no stack trace');
  });
});
