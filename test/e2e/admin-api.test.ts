/**
 * The admin API on a real gateway process (`gatehouse start -c FILE`): a config applied with POST /config
 * serves real requests and the file wins again at its next change; a dry run of a bad config gets its
 * problems while traffic goes on untouched; GET /explain names the target the next request really reaches;
 * `gatehouse reload` drives the running process and says clearly when none runs; `gatehouse explain` works
 * offline; a non-loopback admin listener without a token is refused with the fix in the message.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { get, killIfRunning, runCli, saveAtomically } from '../helpers/e2e-process.ts';
import { closedPort, echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const upstreams: FakeUpstream[] = [];
let gw: SpawnedGateway | undefined;
const dir = tempDir('gatehouse-admin-');
const file = join(dir, 'gatehouse.yaml');

function configText(routes: string, token = `"${TOKEN}"`): string {
  return `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0, token: ${token} }
log: { level: info, access: { enabled: false } }
upstreams:
  a: { targets: [{ url: "${upstreams[0]!.url}" }] }
  b: { targets: [{ url: "${upstreams[1]!.url}" }, { url: "${upstreams[2]!.url}" }] }
routes:
${routes}`;
}
const routeA = '  - { name: one, match: { path: /one }, upstream: a }\n';
const routeB = '  - { name: two, match: { path: /two }, upstream: b }\n';

/** A parsed JSON body: its shape is what the assertions check. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function admin(path: string, init: RequestInit = {}): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${gw!.adminUrl}${path}`, { ...init, headers: { ...auth, ...init.headers as Record<string, string> } });
  return { status: res.status, json: await res.json() };
}
const upstreamOf = async (path: string) => (await get(`${gw!.url}${path}`)).headers['x-upstream'];

before(async () => {
  for (const name of ['a', 'b1', 'b2']) upstreams.push(await startUpstream(echo(name)));
  writeFileSync(file, configText(routeA));
  gw = await spawnGateway(['start', '-c', file]);
});
after(async () => {
  await gw?.stop();
  killIfRunning(gw?.proc);
  for (const u of upstreams) await u.close();
});

describe('admin API on a running gateway', () => {
  it('needs the token, except for /live and /ready', async () => {
    assert.equal((await fetch(`${gw!.adminUrl}/status`)).status, 401);
    assert.equal((await fetch(`${gw!.adminUrl}/live`)).status, 200);
    assert.equal((await fetch(`${gw!.adminUrl}/ready`)).status, 200);
    const status = await admin('/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.configFile, file);
  });

  it('dry-runs a bad config: its problems come back and the running config keeps serving', async () => {
    const before = (await admin('/status')).json.configHash;
    const bad = configText(`${routeA}  - { name: two, match: { path: /two }, upstream: nowhere }\n`);
    const res = await admin('/config?dryRun=true', { method: 'POST', body: bad });
    assert.equal(res.json.valid, false);
    assert.match(res.json.problems[0], /^9:\d+ routes\[1\]\.upstream: unknown upstream "nowhere"/);
    const applied = await admin('/config', { method: 'POST', body: bad });
    assert.equal(applied.status, 422);
    assert.equal(applied.json.error.reason, 'admin_config_invalid');
    assert.equal((await admin('/status')).json.configHash, before);
    assert.equal(await upstreamOf('/one'), 'a');
  });

  it('dry-runs a good config into a diff, then applies it: requests follow, the file is not written', async () => {
    const next = configText(routeA + routeB);
    const dry = await admin('/config?dryRun=true', { method: 'POST', body: next });
    assert.deepEqual(dry.json.diff.routes, { added: ['two'], removed: [], changed: [] });
    assert.equal((await get(`${gw!.url}/two`)).status, 404, 'a dry run applies nothing');
    const applied = await admin('/config', { method: 'POST', body: next });
    assert.equal(applied.status, 200);
    assert.equal(applied.json.trigger, 'admin-config');
    assert.equal(applied.json.summary, '1 route added');
    assert.match(await upstreamOf('/two') as string, /^b[12]$/);
    const status = await admin('/status');
    assert.equal(status.json.lastReload.trigger, 'admin-config');
    await gw!.waitForLog('"trigger":"admin-config"');
  });

  it('explains a request: the target named is the one the next request reaches, and explaining takes no turn', async () => {
    for (let i = 0; i < 3; i++) {
      const first = await admin('/explain?path=/two/x');
      const second = await admin('/explain?path=/two/x');
      assert.equal(second.json.target.url, first.json.target.url, 'explaining twice does not move the balancer');
      const expected = first.json.target.url === upstreams[1]!.url ? 'b1' : 'b2';
      assert.equal(await upstreamOf('/two/x'), expected, `request ${i}`);
    }
    const res = await admin('/explain?path=/two/x');
    assert.equal(res.json.route.name, 'two');
    assert.equal(res.json.upstream.name, 'b');
  });

  it('lets the file win again at its next change', async () => {
    saveAtomically(file, configText(routeA.replace('/one', '/uno')));
    await gw!.waitForLog('"trigger":"file"');
    assert.equal((await get(`${gw!.url}/two`)).status, 404);
    assert.equal(await upstreamOf('/uno'), 'a');
  });

  it('reloads through `gatehouse reload`, with the token from GATEHOUSE_ADMIN_TOKEN', async () => {
    const addr = new URL(gw!.adminUrl!).host;
    saveAtomically(file, configText(routeA + routeB));
    const ok = await runCli(['reload', '--admin', addr], 15_000, { GATEHOUSE_ADMIN_TOKEN: TOKEN });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^reloaded: /);
    const refused = await runCli(['reload', '--admin', addr], 15_000, { GATEHOUSE_ADMIN_TOKEN: 'wrong-token-0000000000' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the admin token: set GATEHOUSE_ADMIN_TOKEN/);
    writeFileSync(file, configText(`${routeA}  - { name: one, match: { path: /other }, upstream: a }\n`));
    const invalid = await runCli(['reload', '--admin', addr], 15_000, { GATEHOUSE_ADMIN_TOKEN: TOKEN });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /not reloaded: the config file has problems/);
    assert.match(invalid.stderr, /gatehouse\.yaml:9:\d+ routes\[1\]\.name: duplicate route name "one"/);
    assert.match(await upstreamOf('/two') as string, /^b[12]$/, 'the previous config keeps serving');
  });
});

describe('gatehouse reload without a gateway', () => {
  it('says none answers and how to point it at one (exit 1)', async () => {
    const port = await closedPort();
    const res = await runCli(['reload', '--admin', String(port)]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`gatehouse reload: no gateway answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is it running`));
  });
});

describe('gatehouse explain (offline)', () => {
  it('explains from the file alone: route, policies in order, upstream, forwarded path, target', async () => {
    const offline = join(dir, 'offline.yaml');
    writeFileSync(offline, `upstreams:
  users: { targets: [{ url: http://10.0.0.5:7001 }, { url: http://10.0.0.6:7001 }] }
policies: [{ type: cors, origins: ["https://app.example"] }]
routes:
  - name: users
    match: { host: api.example.com, path: /api/users, headers: { x-version: "2" } }
    upstream: users
    stripPrefix: true
    policies: [{ type: request-size-limit, maxBytes: 1MB }]
`);
    const res = await runCli(['explain', '-c', offline, 'GET', 'https://api.example.com/api/users/42?x=1', '-H', 'x-version: 2']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^route {6}users$/m);
    assert.match(res.stdout, /^policies {3}1\. cors \(priority \d+, gateway\), 2\. request-size-limit \(priority \d+, route\)$/m);
    assert.match(res.stdout, /^upstream {3}users \(round-robin\)$/m);
    assert.match(res.stdout, /^forwarded {2}\/42$/m);
    assert.match(res.stdout, /^target {5}http:\/\/10\.0\.0\.5:7001 \(offline: /m);
    const json = await runCli(['explain', '-c', offline, 'https://api.example.com/api/users', '-H', 'x-version:2', '--json']);
    assert.equal((JSON.parse(json.stdout) as { route: { name: string } }).route.name, 'users');
    const missing = await runCli(['explain', '-c', offline, 'GET', 'https://api.example.com/api/users']);
    assert.equal(missing.code, 1, 'without the header no route serves it');
    assert.match(missing.stdout, /404 route_not_found/);
    const usage = await runCli(['explain', '-c', offline, 'GET', 'https://api.example.com/', '-H', 'novalue']);
    assert.equal(usage.code, 2);
  });
});

describe('an admin listener other machines reach', () => {
  it('is refused without a token, at admin.host, saying why and how to fix it', async () => {
    const exposed = join(dir, 'exposed.yaml');
    writeFileSync(exposed, 'admin:\n  host: 0.0.0.0\nupstreams: { a: { targets: [{ url: http://127.0.0.1:1 }] } }\nroutes: [{ name: r, match: { path: / }, upstream: a }]\n');
    for (const args of [['validate', exposed], ['start', '-c', exposed]]) {
      const res = await runCli(args);
      assert.equal(res.code, 2, args.join(' '));
      assert.match(res.stderr, /exposed\.yaml:2:9 admin\.host: the admin listener on 0\.0\.0\.0 \(not loopback\) needs admin\.token/);
      assert.match(res.stderr, /Set admin\.token \(e\.g\. token: \$\{GATEHOUSE_ADMIN_TOKEN\}\)/);
      assert.match(res.stderr, /Earlier versions accepted this config \(see CHANGELOG\.md\)/);
    }
    const short = await runCli(['proxy', '--to', upstreams[0]!.url, '--listen', '0', '--admin', '0', '--admin-token', 'short']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--admin-token: must be at least 16 characters/);
    const proxy = await runCli(['proxy', '--to', upstreams[0]!.url, '--listen', '0', '--admin', ':0']);
    assert.equal(proxy.code, 2);
    assert.match(proxy.stderr, /--admin: an address other machines reach needs the admin token.*GATEHOUSE_ADMIN_TOKEN \(or --admin-token TOKEN\)/);
  });
});

describe('gatehouse proxy --admin-token', () => {
  it('protects the quick start\'s admin API with the token given', async () => {
    const proxy = await spawnGateway(['proxy', '--to', upstreams[0]!.url, '--listen', '0', '--admin', '0', '--admin-token', TOKEN]);
    try {
      assert.equal((await fetch(`${proxy.adminUrl}/status`)).status, 401);
      assert.equal((await fetch(`${proxy.adminUrl}/ready`)).status, 200);
      const status = await fetch(`${proxy.adminUrl}/status`, { headers: auth });
      assert.equal(status.status, 200);
      assert.equal(((await status.json()) as { configFile: string | null }).configFile, null);
    } finally {
      await proxy.stop();
      killIfRunning(proxy.proc);
    }
  });
});
