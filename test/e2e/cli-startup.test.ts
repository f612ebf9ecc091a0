/**
 * The command line and the startup messages, end to end with the real `gatehouse` entry as a child process:
 * one usage-error wording for every command, positional FILE, --help, the startup log's bound addresses,
 * one GW_ERR_LISTEN line for a listener that cannot bind (in one process and with workers), `--listen PORT`
 * on loopback only, and `proxy` opening no admin listener unless asked.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { get, jsonLines, killIfRunning, runCli } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const dir = tempDir('gatehouse-cli-startup-');
const commands = ['start', 'validate', 'proxy', 'demo', 'token', 'hash-key', 'schema', 'health'];

/** A config on 127.0.0.1; `listen` and `admin` are YAML flow mappings. */
function configFile(name: string, listen: string, admin: string, workers = 1): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `listen: ${listen}\nadmin: ${admin}\nworkers: ${workers}\n`
    + 'upstreams: { u: { targets: [{ url: "http://127.0.0.1:1" }] } }\nroutes: [{ name: a, match: { path: /a }, upstream: u }]\n');
  return file;
}

interface Listener { name: string; address: string; url: string; exposed: boolean }

function listeningLine(gw: SpawnedGateway): { url: string; adminUrl?: string; listeners: Listener[] } {
  const line = jsonLines(gw.logLines).find((l) => l.msg === 'gateway listening');
  assert.ok(line, gw.logLines.join('\n'));
  return line as unknown as { url: string; adminUrl?: string; listeners: Listener[] };
}

describe('usage errors read the same for every command', () => {
  it('names an unknown flag in one wording, pointing to that command\'s --help, exit 2', async () => {
    const top = await runCli(['--bogus']);
    assert.equal(top.code, 2);
    assert.equal(top.stderr, 'gatehouse: unknown flag "--bogus" (see gatehouse --help)\n');
    const runs = await Promise.all(commands.map((command) => runCli([command, '--bogus'])));
    for (const [i, command] of commands.entries()) {
      assert.equal(runs[i]!.code, 2, command);
      assert.equal(runs[i]!.stderr, `gatehouse ${command}: unknown flag "--bogus" (see gatehouse ${command} --help)\n`);
    }
  });

  it('says which flag lacks its value and which argument is extra', async () => {
    const missing = await runCli(['validate', '-c']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'gatehouse validate: flag -c needs a value (see gatehouse validate --help)\n');
    const swallowed = await runCli(['proxy', '--listen', '--to', 'http://127.0.0.1:1']);
    assert.equal(swallowed.code, 2);
    assert.match(swallowed.stderr, /^gatehouse proxy: flag --listen needs a value, got the flag "--to" \(see gatehouse proxy --help\)\n$/);
    const extra = await runCli(['validate', 'a.yaml', 'b.yaml']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /^gatehouse validate: unexpected argument "b.yaml" \(see gatehouse validate --help\)\n$/);
  });
});

describe('--help', () => {
  it('lists every command with one line each', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of commands) {
      const lines = r.stdout.split('\n').filter((l) => new RegExp(`^  ${command}\\s{3,}\\S`).test(l));
      assert.equal(lines.length, 1, `one line for ${command} in:\n${r.stdout}`);
    }
  });

  it('prints a command\'s usage for CMD --help and for help CMD, exit 0', async () => {
    const runs = await Promise.all([...commands.map((command) => [command, '--help']), ['help', 'proxy']].map(async (args) => ({ args, r: await runCli(args) })));
    for (const { args, r } of runs) {
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`gatehouse ${args[0] === 'help' ? args[1] : args[0]}`), `${args.join(' ')}:\n${r.stdout}`);
    }
    const proxyHelp = runs.at(-1)!.r.stdout;
    assert.match(proxyHelp, /PORT \(127\.0\.0\.1:PORT/, 'says what --listen PORT binds');
    assert.match(proxyHelp, /:PORT \(every interface/, 'says what --listen :PORT binds');
  });
});

describe('positional FILE', () => {
  it('is taken by validate as -c FILE is', async () => {
    const file = configFile('valid', '{ host: 127.0.0.1, port: 0 }', '{ enabled: false }');
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${file}: ok (1 routes, 1 upstreams)\n`);
  });

  it('is taken by start, which then logs every listener with the address it bound', async () => {
    const file = configFile('positional', '{ host: 127.0.0.1, port: 0 }', '{ host: 127.0.0.1, port: 0 }');
    const gw = await spawnGateway(['start', file]);
    try {
      const { url, adminUrl, listeners } = listeningLine(gw);
      const port = (u: string) => new URL(u).port;
      assert.deepEqual(listeners, [
        { name: 'gateway', address: `127.0.0.1:${port(url)}`, url, exposed: false, everyInterface: false },
        { name: 'admin', address: `127.0.0.1:${port(adminUrl!)}`, url: adminUrl, exposed: false, everyInterface: false },
      ]);
      assert.equal((await get(`${adminUrl}/ready`)).status, 200);
      assert.ok(!gw.logLines.some((l) => l.includes('other machines can reach it')), 'no exposure warning on loopback');
      assert.equal(await gw.stop(), 0);
    } finally {
      killIfRunning(gw.proc);
    }
  });
});

describe('a listener that cannot bind', () => {
  let taken: net.Server;
  let port: number;
  before(async () => {
    taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    port = (taken.address() as net.AddressInfo).port;
  });
  after(() => taken.close());

  /** Exactly one stderr line: the code, the listener, the address, the cause and what to change; exit 1. */
  async function assertOneLine(args: string[], listener: string, hint: string): Promise<void> {
    const r = await runCli(args, 10_000);
    const what = args.join(' ');
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what} printed a stack trace`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
    assert.equal(lines[0], `gatehouse: GW_ERR_LISTEN ${listener} listener cannot bind 127.0.0.1:${port}: the port is already in use (EADDRINUSE); change ${hint}`);
  }

  it('says so in one line naming the gateway listener and listen.port / --port', async () => {
    await assertOneLine(['start', configFile('gw-taken', `{ host: 127.0.0.1, port: ${port} }`, '{ enabled: false }')], 'gateway', 'listen.port (or --port)');
  });

  it('says so in one line naming the admin listener and admin.port', async () => {
    await assertOneLine(['start', configFile('admin-taken', '{ host: 127.0.0.1, port: 0 }', `{ host: 127.0.0.1, port: ${port} }`)], 'admin', 'admin.port');
  });

  it('says the same one line from the primary when two workers cannot bind', async () => {
    await assertOneLine(['start', configFile('workers-taken', `{ host: 127.0.0.1, port: ${port} }`, '{ enabled: false }', 2)], 'gateway', 'listen.port (or --port)');
  });

  it('names the flags of gatehouse proxy', async () => {
    await assertOneLine(['proxy', '--listen', `127.0.0.1:${port}`, '--to', 'http://127.0.0.1:1'], 'gateway', '--listen');
    await assertOneLine(['proxy', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`, '--to', 'http://127.0.0.1:1'], 'admin', '--admin');
  });

  it('keeps exit 2 for a config error', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listen: { port: 99999 }\n');
    assert.equal((await runCli(['start', file])).code, 2);
  });
});

describe('gatehouse proxy listeners', () => {
  let upstream: FakeUpstream;
  const running: SpawnedGateway[] = [];
  before(async () => {
    upstream = await startUpstream(echo('a'));
  });
  after(async () => {
    for (const gw of running) killIfRunning(gw.proc);
    await upstream.close();
  });

  it('binds --listen PORT on 127.0.0.1 only', async () => {
    const gw = await spawnGateway(['proxy', '--listen', '0', '--to', upstream.url]);
    running.push(gw);
    const [gateway] = listeningLine(gw).listeners;
    assert.match(gateway!.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(gateway!.exposed, false);
    const port = Number(gateway!.address.split(':')[1]);
    assert.equal((await get(`http://127.0.0.1:${port}/x`)).status, 200);
    // Another loopback address reaches a socket bound to every interface, never one bound to 127.0.0.1.
    await assert.rejects(get(`http://127.0.0.2:${port}/x`, {}, 2000), /ECONNREFUSED/);
    assert.equal(await gw.stop(), 0);
  });

  it('opens no admin listener without --admin, so two run side by side', async () => {
    const first = await spawnGateway(['proxy', '--listen', '127.0.0.1:0', '--to', upstream.url]);
    running.push(first);
    const second = await spawnGateway(['proxy', '--listen', '127.0.0.1:0', '--to', upstream.url]);
    running.push(second);
    for (const gw of [first, second]) {
      const line = listeningLine(gw);
      assert.equal(line.adminUrl, undefined);
      assert.deepEqual(line.listeners.map((l) => l.name), ['gateway']);
      assert.equal((await get(`${line.url}/x`)).status, 200);
    }
    assert.deepEqual(await Promise.all([first.stop(), second.stop()]), [0, 0]);
  });
});
