/**
 * Hot reload of the real process (`gatehouse start -c FILE`) under load. The config file is saved the way
 * editors save (a temp file renamed over it); each save rotates the targets of the "rotating" upstream over
 * u1..u3 and adds a route /v<n>, while u0 stays behind "stable" throughout. Also: configs with errors are
 * rejected with FILE:LINE:COL and the old config keeps serving; SIGHUP reloads; a target that stays keeps
 * its pool (no new upstream connections).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { get, jsonLines, killIfRunning, poll, saveAtomically } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { startLoad as startLoadClients, type Load, type LoadOptions } from '../helpers/load-clients.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const RELOADS = 20;
const CLIENTS = 50;

const upstreams: FakeUpstream[] = [];
const connectionsTo = [0, 0, 0, 0];
let gw: SpawnedGateway | undefined;
const loads: Load[] = [];

/** Load that afterEach stops if a test fails before stopping it. */
function startLoad(url: string, options: LoadOptions): Load {
  const load = startLoadClients(url, options);
  loads.push(load);
  return load;
}

before(async () => {
  for (let i = 0; i < 4; i++) {
    const u = await startUpstream(echo(`u${i}`));
    u.server.on('connection', () => connectionsTo[i]!++);
    upstreams.push(u);
  }
});
afterEach(async () => {
  killIfRunning(gw?.proc);
  await Promise.all(loads.splice(0).map((l) => l.stop()));
});
after(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
});

/** The two of u1..u3 behind "rotating" in generation n: the window moves by one each reload. */
function window(n: number): string[] {
  return [`u${1 + (n % 3)}`, `u${1 + ((n + 1) % 3)}`];
}

interface Fixture { readonly file: string; text(n: number, extraRoutes?: string): string }

function fixture(): Fixture {
  const dir = tempDir('gatehouse-reload-');
  const file = join(dir, 'gatehouse.yaml');
  const url = (name: string) => upstreams[Number(name.slice(1))]!.url;
  return {
    file,
    text: (n, extraRoutes = '') => [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      `log: { access: { path: ${JSON.stringify(join(dir, 'access.log'))} } }`,
      'upstreams:',
      '  stable:',
      `    targets: [{ url: "${url('u0')}" }]`,
      '  rotating:',
      `    balancer: ${n % 2 === 0 ? 'round-robin' : 'least-connections'}`,
      '    targets:',
      ...window(n).map((u) => `      - { url: "${url(u)}" }`),
      'routes:',
      '  - { name: stable, match: { path: /stable }, upstream: stable }',
      '  - { name: load, match: { path: /load }, upstream: rotating }',
      ...Array.from({ length: n }, (_, i) => `  - { name: v${i + 1}, match: { path: /v${i + 1} }, upstream: rotating }`),
      extraRoutes,
    ].join('\n'),
  };
}

async function start(f: Fixture, n: number): Promise<SpawnedGateway> {
  writeFileSync(f.file, f.text(n));
  gw = await spawnGateway(['start', '-c', f.file]);
  return gw;
}

const logsWith = (g: SpawnedGateway, msg: string) => jsonLines(g.logLines).filter((l) => l.msg === msg);
const REJECTED = 'config reload rejected: the previous config keeps serving';

async function status(url: string): Promise<number> {
  return (await get(url, {}, 2000)).status;
}

/** Waits (bounded) until GET url answers 200: the reload that added it has taken effect. */
async function until200(url: string, what: string): Promise<void> {
  await poll(async () => (await status(url)) === 200 || undefined, what, 10_000, 20);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hot reload under load', () => {
  it(`serves ${CLIENTS} keep-alive clients through ${RELOADS} reloads with zero failed requests, and every new route takes effect`, async (t) => {
    const f = fixture();
    const g = await start(f, 0);
    let latest = 0;
    const load = startLoad(g.url, {
      connections: CLIENTS,
      // A quarter each: the rotating upstream, the stable one, the newest route, any added route.
      nextPath: (c, i) => (latest === 0 ? ['/load', '/stable'] : ['/load', '/stable', `/v${latest}`, `/v${1 + ((c * 7 + i) % latest)}`])[(c + i) % 4] ?? '/load',
    });
    await poll(async () => load.completed() >= 500 || undefined, 'the load to warm up', 10_000);

    const confirmedAt = [0];
    const writtenAt = [0];
    for (let n = 1; n <= RELOADS; n++) {
      const before = load.completed();
      writtenAt[n] = performance.now();
      saveAtomically(f.file, f.text(n));
      await until200(`${g.url}/v${n}`, `route /v${n} after reload ${n}`);
      confirmedAt[n] = performance.now();
      latest = n;
      await sleep(150);
      assert.ok(load.completed() > before, `requests completed during reload ${n}`);
    }
    writtenAt[RELOADS + 1] = Infinity;
    const result = await load.stop();

    assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} of ${result.total} requests failed`);
    assert.equal(result.maxConnected, CLIENTS, 'the clients really held 50 keep-alive connections');
    assert.equal(logsWith(g, 'config reloaded').length, RELOADS, g.logLines.join('\n'));
    assert.equal(logsWith(g, REJECTED).length, 0);

    // A /load request sent after reload n took effect and answered before save n+1 was served by window n.
    let checked = 0;
    for (const s of result.samples) {
      if (s.path === '/stable') assert.equal(s.upstream, 'u0', 'the stable target kept serving /stable');
      if (s.path !== '/load') continue;
      const n = confirmedAt.findLastIndex((at) => at <= s.sentAt);
      if (n < 1 || s.doneAt >= writtenAt[n + 1]!) continue;
      checked++;
      assert.ok(window(n).includes(s.upstream), `after reload ${n}, /load went to ${s.upstream}, not ${window(n).join('/')}`);
    }
    assert.ok(checked > RELOADS * 10, `enough requests fell between reloads to check targets (${checked})`);
    const routesServed = new Set(result.samples.map((s) => s.path).filter((p) => p.startsWith('/v')));
    assert.equal(routesServed.size, RELOADS, 'every added route served load');
    for (const name of ['u0', 'u1', 'u2', 'u3']) assert.ok(result.samples.some((s) => s.upstream === name), `${name} served`);

    assert.equal(await g.stop('SIGTERM'), 0);
    t.diagnostic(`hot reload: ${result.total} requests, ${result.failures.length} failed, ${RELOADS} reloads, ${CLIENTS} connections`);
  });

  it('keeps a target that stays across reloads serving on its shared pool, without new upstream connections', async () => {
    const f = fixture();
    const g = await start(f, 0);
    const atStart = connectionsTo[0]!;
    const load = startLoad(g.url, { connections: 10, nextPath: () => '/stable' });
    await poll(async () => load.completed() >= 300 || undefined, 'the load to warm up', 10_000);
    const warmConnections = connectionsTo[0]! - atStart;
    for (let n = 1; n <= 5; n++) {
      saveAtomically(f.file, f.text(n));
      await until200(`${g.url}/v${n}`, `route /v${n} after reload ${n}`);
      await sleep(100);
    }
    const result = await load.stop();
    assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} of ${result.total} failed`);
    assert.ok(result.samples.every((s) => s.upstream === 'u0'));
    assert.ok(warmConnections <= 10, `at most one upstream connection per client (${warmConnections})`);
    assert.equal(connectionsTo[0]! - atStart, warmConnections, 'the reloads reused the warm pool of u0');
    assert.equal(await g.stop('SIGTERM'), 0);
  });
});

describe('a config with errors at reload', () => {
  it('is logged with every problem as FILE:LINE:COL, and the old config keeps serving under load', async () => {
    const f = fixture();
    const g = await start(f, 2);
    const load = startLoad(g.url, { connections: 10, nextPath: (c, i) => ['/load', '/stable', '/v2'][(c + i) % 3]! });
    await poll(async () => load.completed() >= 100 || undefined, 'the load to warm up', 10_000);

    const badYaml = f.text(3, '  - { name: broken, match: { path: /broken }, upstream: rotating');
    const brokenLine = badYaml.split('\n').length;
    saveAtomically(f.file, badYaml);
    await poll(async () => logsWith(g, REJECTED).length === 1 || undefined, 'the bad YAML to be rejected', 5000);
    const yamlProblems = logsWith(g, REJECTED)[0]!.problems as string[];
    assert.ok(yamlProblems.length >= 1);
    for (const p of yamlProblems) assert.match(p, new RegExp(`^${f.file}:${brokenLine}:\\d+ YAML: `), `a YAML problem at the broken line: ${p}`);
    assert.equal(await status(`${g.url}/v3`), 404, 'the rejected config is not serving');
    assert.equal(await status(`${g.url}/v2`), 200, 'the previous config keeps serving');

    const badSchema = f.text(3, '  - name: bad\n    match: { path: /bad, frob: 1 }\n    upstream: rotating\n    timeout: 5 parsecs');
    const lines = badSchema.split('\n');
    const at = (needle: string) => {
      const line = lines.findIndex((l) => l.includes(needle));
      return `${line + 1}:${lines[line]!.indexOf(needle) + 1}`;
    };
    saveAtomically(f.file, badSchema);
    await poll(async () => logsWith(g, REJECTED).length === 2 || undefined, 'the schema errors to be rejected', 5000);
    assert.deepEqual(logsWith(g, REJECTED)[1]!.problems, [
      `${f.file}:${at('frob')} routes[5].match.frob: unknown key (allowed: host, path, exact, methods, headers)`,
      `${f.file}:${at('5 parsecs')} routes[5].timeout: invalid duration "5 parsecs": use e.g. "250ms", "30s", "5m", "1h"`,
    ]);
    assert.equal(await status(`${g.url}/v3`), 404);
    assert.equal(await status(`${g.url}/bad`), 404);

    saveAtomically(f.file, f.text(3));
    await until200(`${g.url}/v3`, 'a good config after the bad ones to take effect');
    const result = await load.stop();
    assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} of ${result.total} failed`);
    assert.equal(logsWith(g, 'config reloaded').length, 1, 'only the good save was applied');
    assert.equal(await g.stop('SIGTERM'), 0);
  });
});

describe('SIGHUP', () => {
  it('reloads the config file, and a bad file on disk is rejected again while the old config serves', async () => {
    const f = fixture();
    const g = await start(f, 1);
    await sleep(300);
    assert.equal(logsWith(g, 'config reloaded').length, 0, 'no reload without a change');
    g.proc.kill('SIGHUP');
    await poll(async () => logsWith(g, 'config reloaded').length === 1 || undefined, 'a reload after SIGHUP', 5000);
    assert.equal(await status(`${g.url}/v1`), 200, 'the process survived SIGHUP and serves');

    saveAtomically(f.file, f.text(2, 'listen: { port: 1 }'));
    await poll(async () => logsWith(g, REJECTED).length === 1 || undefined, 'the watcher to reject the bad file', 5000);
    g.proc.kill('SIGHUP');
    await poll(async () => logsWith(g, REJECTED).length === 2 || undefined, 'SIGHUP to re-read and reject the bad file', 5000);
    assert.match(String((logsWith(g, REJECTED)[1]!.problems as string[])[0]), new RegExp(`^${f.file}:\\d+:\\d+ .*duplicate key "listen"`));
    assert.equal(await status(`${g.url}/v1`), 200);
    assert.equal(await status(`${g.url}/v2`), 404);
    assert.equal(logsWith(g, 'config reloaded').length, 1);
    assert.equal(await g.stop('SIGTERM'), 0);
  });
});
