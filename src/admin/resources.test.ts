import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { z } from 'zod';
import { adminServerPerFile, adminTestConfig, adminTestSnapshot, fakeAdmin, TOKEN } from '../../test/helpers/admin-state.ts';
import { adminResources } from './admin-server.ts';
import { configHash } from './resources/status.ts';

/** A parsed JSON body: its shape is what the assertions check. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const fake = fakeAdmin();
let base: string;
const auth = { authorization: `Bearer ${TOKEN}` };

adminServerPerFile(fake.state, { token: TOKEN }, (url) => { base = url; });
beforeEach(() => {
  fake.running = adminTestConfig;
  fake.applied = [];
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string; json: Json }> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { ...auth, ...init.headers as Record<string, string> } });
  const body = await res.text();
  let json: unknown;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body, json };
}

/** The response must fit the schema GET /openapi.json publishes for it: the shape is the contract. */
function assertShape(method: string, path: string, status: number, json: unknown): void {
  const resource = adminResources.find((r) => r.method === method && r.path === path)!;
  const schema = resource.responses[status]?.schema;
  assert.ok(schema, `${method} ${path} declares a ${status} schema`);
  const parsed = (schema as z.ZodType).safeParse(json);
  assert.ok(parsed.success, `${method} ${path} ${status}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
}

const yaml = (extra = '') => `
admin: { token: "\${GATEHOUSE_ADMIN_TOKEN}" }
policies: [{ type: cors, origins: ["https://app.example"] }]
upstreams:
  users: { targets: [{ url: http://127.0.0.1:7001 }, { url: http://127.0.0.1:7002, weight: 2 }] }
  keyed: { balancer: consistent-hash, hashOn: "header:x-user", targets: [{ url: http://127.0.0.1:7003 }, { url: http://127.0.0.1:7004 }] }
routes:
  - { name: users, match: { host: api.example.com, path: /users, methods: [GET] }, upstream: users, stripPrefix: true, policies: [{ type: request-size-limit, maxBytes: 1MB }] }
  - { name: keyed, match: { path: /keyed }, upstream: keyed }
${extra}`;

describe('GET /status', () => {
  it('gives the version, uptime, workers, config hash and the last reload', async () => {
    fake.reloadResult = { ok: false, trigger: 'file', at: new Date(1000).toISOString(), errors: ['/etc/g.yaml:3:5 routes[0].upstream: unknown upstream "x"'], failure: 'invalid' };
    const res = await call('/status');
    assertShape('GET', '/status', 200, res.json);
    assert.match(res.json.version, /^\d+\.\d+\.\d+/);
    assert.ok(res.json.uptimeSeconds >= 5);
    assert.equal(res.json.workers, 1);
    assert.equal(res.json.configHash, configHash(adminTestConfig));
    assert.match(res.json.configHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(res.json.lastReload, fake.reloadResult);
  });
});

describe('GET /config', () => {
  it('gives the running config with the admin token, secrets and URL passwords redacted', async () => {
    const secret = 'an-hs256-secret-that-is-long-enough-000000';
    const loaded = fake.state.check(yaml().replace('upstreams:', 'redis: { url: "redis://user:hunter2@127.0.0.1:6379" }\nupstreams:').replace('routes:', `routes:
  - name: jwt
    match: { path: /jwt }
    upstream: users
    policies:
      - { type: jwt-auth, issuers: [{ issuer: me, algorithms: [HS256], secret: "${secret}" }] }
      - { type: header-transform, request: { set: { authorization: "Bearer upstream-secret", x-plain: shown } } }`));
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    fake.running = loaded.config;
    const res = await call('/config');
    assert.equal(res.status, 200);
    for (const leaked of [TOKEN, secret, 'hunter2', 'upstream-secret']) assert.doesNotMatch(res.body, new RegExp(leaked), leaked);
    assert.equal(res.json.admin.token, '[redacted]');
    assert.equal(res.json.redis.url, 'redis://user:[redacted]@127.0.0.1:6379');
    const jwt = res.json.routes.find((r: { name: string }) => r.name === 'jwt');
    assert.equal(jwt.policies[0].issuers[0].secret, '[redacted]');
    assert.equal(jwt.policies[1].request.set.authorization, '[redacted]');
    assert.equal(jwt.policies[1].request.set['x-plain'], 'shown', 'only credential headers are hidden');
    assert.equal(res.json.upstreams.users.targets[0].url, 'http://127.0.0.1:7001', 'the rest is as configured');
  });
});

describe('GET /routes', () => {
  it('lists each route with its match, upstream and policies in run order', async () => {
    const res = await call('/routes');
    assertShape('GET', '/routes', 200, res.json);
    assert.deepEqual(res.json.routes.map((r: { name: string }) => r.name), ['users', 'keyed']);
    const users = res.json.routes[0];
    assert.equal(users.upstream, 'users');
    assert.deepEqual(users.match.methods, ['GET']);
    assert.deepEqual(users.policies.map((p: { type: string; from: string }) => `${p.type}:${p.from}`), ['cors:gateway', 'request-size-limit:route']);
  });
});

describe('GET /upstreams', () => {
  it('joins each configured target with the snapshot: health, breaker and any further field', async () => {
    const res = await call('/upstreams');
    assertShape('GET', '/upstreams', 200, res.json);
    const users = res.json.upstreams.find((u: { name: string }) => u.name === 'users');
    assert.equal(users.balancer, 'round-robin');
    assert.deepEqual(users.targets[0], { ...adminTestSnapshot.targets[0], weight: 1 } as Json);
    assert.equal(users.targets[0].breaker, 'open');
    assert.equal(users.targets[0].sinceMs, 1200, 'fields the snapshot adds pass through');
    assert.deepEqual(users.targets[1], { upstream: 'users', url: 'http://127.0.0.1:7002', weight: 2, inFlight: 0, available: true, healthy: true, breaker: 'closed', attempts: 0, failures: 0, latencyEwmaMs: null });
  });
});

describe('POST /config', () => {
  const post = (path: string, body: string) => call(path, { method: 'POST', body, headers: { 'content-type': 'application/yaml' } });

  it('dry run: answers the diff against the running config and applies nothing', async () => {
    const next = yaml('  - { name: orders, match: { path: /orders }, upstream: users }').replace('weight: 2', 'weight: 3').replace('  - { name: keyed, match: { path: /keyed }, upstream: keyed }\n', '');
    const res = await post('/config?dryRun=true', next);
    assertShape('POST', '/config', 200, res.json);
    assert.equal(res.json.valid, true);
    assert.deepEqual(res.json.diff.routes, { added: ['orders'], removed: ['keyed'], changed: [] });
    assert.deepEqual(res.json.diff.upstreams, { added: [], removed: [], changed: ['users'] });
    assert.equal(res.json.summary, '1 route added, 1 route removed, 1 upstream changed');
    assert.deepEqual(fake.applied, []);
    assert.equal(fake.running, adminTestConfig);
  });

  it('dry run: answers every problem as line:col path: message, the running config untouched', async () => {
    const res = await post('/config?dryRun=true', yaml().replace('upstream: keyed', 'upstream: nowhere').replace('stripPrefix: true', 'stripPrefix: yes please'));
    assert.equal(res.status, 200);
    assert.equal(res.json.valid, false);
    assert.equal(res.json.problems.length, 2, res.body);
    assert.match(res.json.problems[0], /^8:\d+ routes\[0\]\.stripPrefix: /);
    assert.match(res.json.problems[1], /^9:\d+ routes\[1\]\.upstream: unknown upstream "nowhere"/);
    assert.equal(fake.running, adminTestConfig);
  });

  it('applies a valid config without dryRun', async () => {
    const res = await post('/config', yaml('  - { name: orders, match: { path: /orders }, upstream: users }'));
    assert.equal(res.status, 200, res.body);
    assert.equal(fake.applied.length, 1);
    assert.deepEqual(fake.applied[0]!.routes.map((r) => r.name), ['users', 'keyed', 'orders']);
  });

  it('refuses to apply an invalid config with 422 admin_config_invalid and its problems', async () => {
    const res = await post('/config', 'routes: [');
    assert.equal(res.status, 422);
    assert.equal(res.json.error.reason, 'admin_config_invalid');
    assert.match(res.json.problems[0], /^\d+:\d+ YAML: /);
    assert.deepEqual(fake.applied, []);
  });

  it('refuses a body over 1 MiB with 413 admin_body_too_large', async () => {
    const res = await post('/config?dryRun=true', `# ${'x'.repeat(1024 * 1024)}\n${yaml()}`);
    assert.equal(res.status, 413);
    assert.equal(res.json.error.reason, 'admin_body_too_large');
  });
});

describe('GET /explain', () => {
  it('names the route, policies in order, upstream, forwarded path and the live balancer\'s next target', async () => {
    const res = await call(`/explain?method=GET&host=api.example.com&path=${encodeURIComponent('/users/42?x=1')}`);
    assertShape('GET', '/explain', 200, res.json);
    assert.equal(res.json.outcome, 'found');
    assert.equal(res.json.route.name, 'users');
    assert.deepEqual(res.json.route.policies.map((p: { type: string }) => p.type), ['cors', 'request-size-limit']);
    assert.equal(res.json.forwardedPath, '/42');
    assert.deepEqual(res.json.upstream, { name: 'users', balancer: 'round-robin', hashKey: null });
    assert.equal(res.json.target.url, 'http://127.0.0.1:7002', 'the live peek, not a fresh balancer');
  });

  it('hashes the header a consistent-hash upstream keys on, and falls back to the snapshot\'s availability', async () => {
    const res = await call('/explain?path=/keyed&header=X-User:alice');
    assert.equal(res.json.upstream.hashKey, 'alice');
    assert.match(res.json.target.url, /^http:\/\/127\.0\.0\.1:700[34]$/);
    const again = await call('/explain?path=/keyed&header=X-User:alice');
    assert.equal(again.json.target.url, res.json.target.url, 'the same key, the same target');
  });

  it('says why no route serves a request', async () => {
    assert.equal((await call('/explain?path=/nothing')).json.outcome, 'route_not_found');
    const post = await call('/explain?method=POST&host=api.example.com&path=/users');
    assert.equal(post.json.outcome, 'method_not_allowed');
    assert.match(post.json.allow, /GET/);
    assert.equal((await call('/explain?path=/users/../admin')).json.outcome, 'bad_path');
  });

  it('refuses a missing path or a malformed header with 400 admin_bad_request', async () => {
    for (const q of ['', '?method=GET', '?path=/x&header=novalue', '?path=/x&method=FETCH']) {
      const res = await call(`/explain${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.json.error.reason, 'admin_bad_request');
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every resource with its schemas', async () => {
    const res = await call('/openapi.json', { headers: {} });
    const doc = res.json;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.info.title && doc.info.version);
    for (const r of adminResources.filter((x) => !x.hidden)) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.path} is described`);
      assert.ok(op.responses['200'], `${r.method} ${r.path} has a 200`);
      assert.ok(Array.isArray(op.security));
    }
    assert.equal(doc.paths['/docs/*'], undefined, 'the page\'s files are not API');
    for (const name of ['Error', 'Status', 'Route', 'Upstream', 'TargetSnapshot', 'Explanation', 'DryRun', 'ConfigDiff', 'ReloadResult', 'Session']) {
      assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
    }
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearer', 'csrf', 'session']);
    // Every $ref resolves inside the document.
    const refs = [...res.body.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 5);
    for (const ref of refs) assert.ok(doc.components.schemas[ref], `$ref ${ref} resolves`);
    assert.doesNotMatch(res.body, /\$defs/);
    const explain = doc.paths['/explain'].get.parameters.map((p: { name: string; required: boolean }) => `${p.name}:${p.required}`);
    assert.deepEqual(explain, ['method:false', 'host:false', 'path:true', 'header:false', 'ip:false']);
    assert.deepEqual(doc.paths['/live'].get.security, [], '/live needs no token');
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI and its files from this listener, no CDN', async () => {
    const page = await call('/docs', { headers: {} });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 3);
    for (const asset of assets) {
      assert.match(asset, /^\/docs\//, `${asset} is local`);
      const res = await fetch(`${base}${asset}`);
      assert.equal(res.status, 200, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
    }
    const bundle = await fetch(`${base}/docs/swagger-ui-bundle.js`);
    assert.equal(bundle.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok(Number(bundle.headers.get('content-length')) > 100_000, 'the real bundle from swagger-ui-dist');
    assert.match(await (await fetch(`${base}/docs/init.js`)).text(), /url: '\/openapi\.json'/);
    assert.equal((await fetch(`${base}/docs/package.json`)).status, 404, 'only the listed files');
    assert.equal((await fetch(`${base}/docs/..%2fpackage.json`)).status, 404);
  });
});
