/**
 * The command line, end to end: the real `gatehouse` entry run as a child process. Covers --help and
 * --version, usage errors (exit 2), `validate` (every problem as FILE:LINE:COL path: message), `start` on a
 * bad config or a taken port, the `proxy` quick start, and the demo (`npm start`), which needs the fixed
 * ports 7101-7106.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { demoServices } from '../../src/cli/demo-services.ts';
import { exitOf, get, jsonLines, killIfRunning, runCli } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError } from '../helpers/raw-http.ts';
import { mainScript, spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const dir = tempDir('gatehouse-cli-');
const goodFile = join(dir, 'good.yaml');
const badFile = join(dir, 'bad.yaml');

writeFileSync(goodFile, `upstreams:
  users: { targets: [{ url: "http://127.0.0.1:7001" }] }
routes:
  - { name: users, match: { path: /api/users }, upstream: users }
`);

// Five distinct mistakes, one per line, at known positions.
writeFileSync(badFile, `listen: { host: 127.0.0.1, port: 99999 }
upstreams:
  users:
    balancer: round-robbin
    targets:
      - url: ftp://example.com
routes:
  - name: users
    match: { path: /api/users, frob: 1 }
    upstream: users
    timeout: 5 parsecs
`);

const badProblems: Array<[prefix: string, message: RegExp]> = [
  [`${badFile}:1:34 listen.port: `, /^must be <= 65535, got 99999$/],
  [`${badFile}:4:15 upstreams.users.balancer: `, /^must be one of .*got "round-robbin" \(did you mean "round-robin"\?\)$/],
  [`${badFile}:6:14 upstreams.users.targets[0].url: `, /^must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/example.com"$/],
  [`${badFile}:9:32 routes[0].match.frob: `, /^unknown key \(allowed: host, path, exact, methods, headers\)$/],
  [`${badFile}:11:14 routes[0].timeout: `, /^invalid duration "5 parsecs"/],
];

/** Each expected problem is on a line of its own: `start` prefixes the first with "gatehouse: ". */
function assertEveryProblem(stderr: string): void {
  const lines = stderr.split('\n');
  for (const [prefix, message] of badProblems) {
    const line = lines.find((l) => l.startsWith(prefix) || l.includes(`: ${prefix}`));
    assert.ok(line, `expected a line "${prefix}..." in:\n${stderr}`);
    assert.match(line.slice(line.indexOf(prefix) + prefix.length), message);
  }
}

describe('gatehouse --help and --version', () => {
  it('prints the usage of every command and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const usage of ['Usage:', '  start ', '  validate ', '  proxy ', '  demo ', '-h, --help', '-v, --version']) {
      assert.ok(r.stdout.includes(usage), `--help lacks "${usage}"`);
    }
    assert.equal(r.stderr, '');
  });

  it('prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  });
});

describe('usage errors', () => {
  it('exits 2 naming an unknown command', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'gatehouse: unknown command "frobnicate" (see gatehouse --help)\n');
  });

  it('exits 2 naming an unknown top-level flag', async () => {
    const r = await runCli(['--frob']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'gatehouse: unknown flag "--frob" (see gatehouse --help)\n');
  });

  it('exits 2 naming an unknown flag of a command', async () => {
    for (const command of ['validate', 'start', 'proxy']) {
      const r = await runCli([command, '--frob', '-c', goodFile]);
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /--frob/, command);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${command} printed a stack trace`);
    }
  });

  it('exits 2 when validate or start is given no config file', async () => {
    for (const command of ['validate', 'start']) {
      const r = await runCli([command]);
      assert.equal(r.code, 2, command);
      assert.match(r.stderr, new RegExp(`^gatehouse ${command}: needs a config file`));
    }
  });
});

describe('gatehouse validate', () => {
  it('exits 0 and says ok for a good config', async () => {
    const r = await runCli(['validate', '-c', goodFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${goodFile}: ok (1 routes, 1 upstreams)\n`);
  });

  it('exits 2 and prints every problem as FILE:LINE:COL path: message', async () => {
    const r = await runCli(['validate', '--config', badFile]);
    assert.equal(r.code, 2);
    assertEveryProblem(r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, badProblems.length + 1, `one line per problem plus a summary:\n${r.stderr}`);
    for (const [i, [prefix]] of badProblems.entries()) assert.ok(lines[i]!.startsWith(prefix), `line ${i + 1} in order: ${lines[i]}`);
    assert.equal(lines.at(-1), `${badFile}: ${badProblems.length} problems`);
    assert.equal(r.stdout, '');
  });

  it('reports unknown upstreams and duplicate route names', async () => {
    const file = join(dir, 'references.yaml');
    writeFileSync(file, 'upstreams:\n  users:\n    targets: [{ url: "http://127.0.0.1:1" }]\nroutes:\n'
      + '  - { name: a, match: { path: /a }, upstream: nope }\n  - { name: a, match: { path: /b }, upstream: users }\n');
    const r = await runCli(['validate', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^${file}:5:\\d+ routes\\[0\\]\\.upstream: unknown upstream "nope" \\(known: users\\)$`, 'm'));
    assert.match(r.stderr, new RegExp(`^${file}:6:\\d+ routes\\[1\\]\\.name: duplicate route name "a"`, 'm'));
  });

  it('reports an unknown upstream alongside field problems', async () => {
    const file = join(dir, 'mixed.yaml');
    writeFileSync(file, 'upstreams:\n  users:\n    balancer: round-robbin\n    targets: [{ url: "http://127.0.0.1:1" }]\n'
      + 'routes:\n  - { name: a, match: { path: /a }, upstream: nope }\n');
    const r = await runCli(['validate', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /upstreams\.users\.balancer: /);
    assert.match(r.stderr, /routes\[0\]\.upstream: unknown upstream "nope"/);
  });

  it('exits 2 for a missing file, naming it', async () => {
    const missing = join(dir, 'missing.yaml');
    const r = await runCli(['validate', '-c', missing]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^${missing}:1:1 cannot read config: no such file$`, 'm'));
  });
});

describe('gatehouse start that cannot start', () => {
  it('exits 2 with every problem and without listening', async () => {
    const r = await runCli(['start', '-c', badFile]);
    assert.equal(r.code, 2);
    assertEveryProblem(r.stderr);
    assert.doesNotMatch(r.stderr, /gateway listening/);
  });

  it('exits 1 naming the address when a port is taken, instead of staying up half started', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const cases = { 'listen port': [port, 0, 1], 'admin port': [0, port, 1], 'admin port with 2 workers': [0, port, 2] };
      for (const [what, [listenPort, adminPort, workers]] of Object.entries(cases)) {
        const file = join(dir, 'taken.yaml');
        writeFileSync(file, `listen: { host: 127.0.0.1, port: ${listenPort} }\nadmin: { host: 127.0.0.1, port: ${adminPort} }\nworkers: ${workers}\n`
          + 'upstreams: { u: { targets: [{ url: "http://127.0.0.1:1" }] } }\nroutes: [{ name: a, match: { path: /a }, upstream: u }]\n');
        const r = await runCli(['start', '-c', file], 10_000);
        assert.equal(r.signal, null, `${what}: the process exited by itself`);
        assert.equal(r.code, 1, what);
        assert.match(r.stderr, new RegExp(`GW_ERR_LISTEN .*127\\.0\\.0\\.1:${port}.*EADDRINUSE`), what);
      }
    } finally {
      taken.close();
    }
  });
});

describe('gatehouse proxy', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let gw: SpawnedGateway | undefined;
  before(async () => {
    [a, b] = await Promise.all([startUpstream(echo('a')), startUpstream(echo('b'))]);
  });
  after(async () => {
    killIfRunning(gw?.proc);
    await Promise.all([a.close(), b.close()]);
  });

  it('round-robins over two targets with a request ID and trace context, and exits 0 on SIGTERM', async () => {
    gw = await spawnGateway(['proxy', '--listen', '127.0.0.1:0', '--to', a.url, '--to', b.url, '--admin', '127.0.0.1:0']);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await get(`${gw.url}/things/${i}?q=1`, i === 0 ? { 'x-request-id': 'cli-test-0001' } : {}));
    const served = answers.map((r) => r.headers['x-upstream']);
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(new Set(served.slice(0, 2)), new Set(['a', 'b']), served.join(','));
    for (let i = 2; i < served.length; i++) assert.equal(served[i], served[i - 2], `round-robin order: ${served.join(',')}`);

    const seen = [...a.received, ...b.received];
    assert.equal(seen.length, 6);
    assert.equal(seen.find((r) => r.url === '/things/0?q=1')?.headers['x-request-id'], 'cli-test-0001');
    assert.equal(answers[0]!.headers['x-request-id'], 'cli-test-0001');
    for (const [i, r] of answers.entries()) {
      const upstreamSaw = seen.find((s) => s.url === `/things/${i}?q=1`)!;
      assert.match(String(r.headers['x-request-id']), /^[\w.-]{8,}$/);
      assert.equal(upstreamSaw.headers['x-request-id'], r.headers['x-request-id']);
      assert.match(String(upstreamSaw.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    }

    const ready = await get(`${gw.adminUrl}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await gw.stop('SIGTERM'), 0);
    const logged = jsonLines(gw.stdoutLines).filter((l) => l.requestId === 'cli-test-0001');
    assert.equal(logged.length, 1, `access log line for cli-test-0001 on stdout:\n${gw.stdoutLines.join('\n')}`);
    assert.equal(logged[0]!.status, 200);
  });

  it('exits 2 on a bad --to, naming which one', async () => {
    const r = await runCli(['proxy', '--listen', '127.0.0.1:0', '--admin', 'off', '--to', a.url, '--to', 'ftp://nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--to #2: must be an http:\/\/ or https:\/\/ URL/);
  });

  it('exits 2 without any --to or with a bad --listen', async () => {
    const none = await runCli(['proxy', '--listen', '127.0.0.1:0', '--admin', 'off']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one --to/);
    const listen = await runCli(['proxy', '--listen', 'localhost', '--to', a.url, '--admin', 'off']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /--listen must be PORT, :PORT or HOST:PORT, got "localhost"/);
  });
});

/** Fails with a clear message if any demo port is taken (the demo needs 7101-7106 to itself). */
async function assertDemoPortsFree(): Promise<void> {
  const busy: number[] = [];
  for (const { port } of demoServices) {
    const probe = net.createServer();
    probe.listen(port, '127.0.0.1');
    const [event] = await Promise.race([once(probe, 'listening').then(() => ['ok']), once(probe, 'error').then(() => ['busy'])]);
    if (event === 'busy') busy.push(port);
    else await new Promise((r) => probe.close(r));
  }
  assert.deepEqual(busy, [], `the demo needs ports 7101-7106 but ${busy.join(', ')} ${busy.length === 1 ? 'is' : 'are'} in use`);
}

describe('gatehouse demo (npm start)', () => {
  let proc: ChildProcess | undefined;
  after(() => killIfRunning(proc));

  it('prints a banner with curl lines, balances, hashes, strips the prefix and stops on SIGINT with exit 0', async () => {
    await assertDemoPortsFree();
    proc = spawn(process.execPath, [mainScript, 'demo', '--port', '0', '--admin-port', '0', '--no-traffic'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const deadline = performance.now() + 15_000;
    while (!stdout.includes('Ctrl-C stops everything')) {
      assert.equal(proc.exitCode, null, `demo exited early:\n${stderr}`);
      assert.ok(performance.now() < deadline, `no banner in 15 s; stdout:\n${stdout}\nstderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const banner = stdout.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
    const m = /is running on (http:\/\/127\.0\.0\.1:\d+) \(admin (http:\/\/127\.0\.0\.1:\d+)\)/.exec(banner);
    assert.ok(m, `banner names the gateway and admin URLs:\n${banner}`);
    const [, url, adminUrl] = m as unknown as [string, string, string];
    const curls = banner.split('\n').filter((l) => l.trimStart().startsWith('curl '));
    assert.ok(curls.length >= 4, `at least 4 curl lines:\n${banner}`);
    for (const path of ['/api/users', '/api/orders', '/api/inventory/items/1']) assert.ok(curls.some((l) => l.includes(`${url}${path}`)), `a curl line for ${path}`);

    const users = [];
    for (let i = 0; i < 4; i++) users.push(await get(`${url}/api/users`));
    const instances = users.map((r) => (JSON.parse(r.body) as { instance: string }).instance);
    assert.deepEqual(users.map((r) => r.status), [200, 200, 200, 200]);
    assert.deepEqual(new Set(instances.slice(0, 2)), new Set(['users@7101', 'users@7102']), instances.join(','));
    assert.equal(instances[2], instances[0]);
    assert.equal(instances[3], instances[1]);

    // orders needs a JWT: 401 without, 200 with the token the banner prints (its subject reaches the service).
    const noToken = await get(`${url}/api/orders`);
    assertGatewayError(noToken, 401, 'token_missing', 'orders without a token');
    const bearer = /Authorization: Bearer ([\w-]+\.[\w-]+\.[\w-]+)/.exec(banner)?.[1];
    assert.ok(bearer, `the banner prints a ready token:\n${banner}`);
    const orders = await get(`${url}/api/orders`, { authorization: `Bearer ${bearer}` });
    assert.equal(orders.status, 200, orders.body);
    assert.equal((JSON.parse(orders.body) as { headers: Record<string, string> }).headers['x-user-id'], 'demo-user');

    assert.equal((await get(`${url}/api/inventory/items/1`)).status, 401, 'inventory needs an API key');
    const inventory = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await get(`${url}/api/inventory/items/1`, { 'x-api-key': 'demo-inventory-key', 'x-cart-id': 'c-17', 'x-user-id': 'spoofed' });
      assert.equal(r.status, 200);
      const body = JSON.parse(r.body) as { instance: string; url: string; headers: Record<string, string> };
      assert.equal(body.url, '/items/1', 'the /api/inventory prefix is stripped');
      assert.equal(body.headers['x-user-id'], undefined, 'a client-sent identity header never reaches the service');
      assert.equal(body.headers['x-consumer-id'], 'demo-shop');
      assert.equal(body.headers['x-request-id'], r.headers['x-request-id']);
      inventory.add(body.instance);
    }
    assert.equal(inventory.size, 1, `one cart sticks to one instance: ${[...inventory].join(',')}`);
    // The inventory route allows 5 a minute per consumer: the 6th is refused, with the headers the banner greps for.
    const limited = await get(`${url}/api/inventory/items/1`, { 'x-api-key': 'demo-inventory-key' });
    assertGatewayError(limited, 429, 'rate_limited', 'the 6th inventory request in a minute');
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    assert.equal(limited.headers['ratelimit-policy'], '"per-consumer";q=5;w=60');
    assert.match(String(limited.headers['ratelimit']), /^"per-consumer";r=0;t=\d+$/);
    assert.ok(banner.split('\n').some((l) => l.includes('for i in 1 2 3 4 5 6; do curl -si') && l.includes('ratelimit')), 'a curl line shows the 429 and its headers');
    assert.equal((await get(`${adminUrl}/ready`)).status, 200);
    // The banner names the dashboard and the admin token, which opens the admin API.
    assert.ok(banner.includes(`Dashboard: ${adminUrl}/dashboard`), `the banner names the dashboard:\n${banner}`);
    const adminToken = /Admin token: (\S+)/.exec(banner)?.[1];
    assert.ok(adminToken, `the banner prints the admin token:\n${banner}`);
    assert.equal((await get(`${adminUrl}/status`)).status, 401, 'the demo admin API needs its token');
    assert.equal((await get(`${adminUrl}/status`, { authorization: `Bearer ${adminToken}` })).status, 200);
    assert.equal((await get(`${adminUrl}/dashboard`)).status, 200);

    proc.kill('SIGINT');
    assert.equal(await exitOf(proc, 10_000), 0, stderr);
    await assertDemoPortsFree();
  });
});

describe('gatehouse hash-key', () => {
  it('prints the sha256 form of a key given as an argument', async () => {
    const r = await runCli(['hash-key', 'abc']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
  });

  it('generates a key and prints it with its hash when given none', async () => {
    const r = await runCli(['hash-key']);
    assert.equal(r.code, 0, r.stderr);
    const m = /^key: {2}([A-Za-z0-9_-]{32})\nhash: (sha256:[0-9a-f]{64})\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const again = await runCli(['hash-key', m[1]!]);
    assert.equal(again.stdout, `${m[2]}\n`);
  });

  it('exits 2 on more than one key', async () => {
    const r = await runCli(['hash-key', 'a', 'b']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unexpected argument "b"/);
  });
});

describe('gatehouse validate on policies', () => {
  it('reports policy problems at their line and column with the policy type\'s own keys', async () => {
    const file = join(dir, 'policies.yaml');
    writeFileSync(file, `upstreams:
  users: { targets: [{ url: "http://127.0.0.1:7001" }] }
policies:
  - type: corz
routes:
  - name: users
    match: { path: /api/users }
    upstream: users
    policies:
      - type: request-size-limit
        maxBytes: 12 parsecs
      - type: ip-filter
        allow: [10.0.0.0/33]
        frob: 1
      - { type: cors, origins: ["*"], credentials: true }
`);
    const r = await runCli(['validate', '-c', file]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, -1).map((l) => l.slice(0, l.indexOf(': ') + 1)), [
      `${file}:4:11 policies[0].type:`,
      `${file}:11:19 routes[0].policies[0].maxBytes:`,
      `${file}:13:17 routes[0].policies[1].allow[0]:`,
      `${file}:14:9 routes[0].policies[1].frob:`,
      `${file}:15:32 routes[0].policies[2].origins:`,
    ]);
    assert.match(lines[0]!, /did you mean "cors"/);
    assert.match(lines[3]!, /unknown key \(allowed: type, allow, deny\)/);
    assert.match(lines[4]!, /cannot be used with credentials/);
  });
});
