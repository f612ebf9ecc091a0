import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import pino from 'pino';
import { loadConfigFile, type LoadResult } from '../config/load.ts';
import { configSchema, type Config } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import { jwtAuth, type JwtAuthConfig } from '../policies/jwt-auth.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { demoConfigFile } from './demo-config.ts';
import { findSigningIssuer, tokenCommand, type TokenIo } from './token.ts';

const SECRET = 'development-secret-0123456789abcdef';
const ROUTE_SECRET = 'route-secret-0123456789abcdef-0123456789abcdef-0123456789abcdef-64';

function jwtPolicy(issuers: unknown[], extra: Record<string, unknown> = {}) {
  return { type: 'jwt-auth', issuers, ...extra };
}

const hsIssuer = { issuer: 'https://dev.local/', audience: ['api', 'web'], algorithms: ['HS256'], secret: SECRET };
const rsIssuer = { issuer: 'https://idp.example.com/', algorithms: ['RS256'], jwksUrl: 'https://idp.example.com/jwks' };

/** A validated config (the shape `gatehouse token` gets from the loader) with these policies and routes. */
function parsed(input: { policies?: unknown[]; routes: Array<{ name: string; policies?: unknown[]; inheritPolicies?: boolean }> }): Config {
  return configSchema.parse({
    upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } },
    policies: input.policies ?? [],
    routes: input.routes.map((r, i) => ({ match: { path: `/r${i}` }, upstream: 'u', ...r })),
  });
}

const config = parsed({
  policies: [{ type: 'ip-filter', allow: ['127.0.0.1'] }, jwtPolicy([rsIssuer, hsIssuer], { scopes: ['orders:read'], requiredClaims: ['sub', 'tenant'] })],
  routes: [
    { name: 'users', policies: [] },
    { name: 'admin', policies: [jwtPolicy([{ issuer: 'https://admin.local/', algorithms: ['HS512'], secret: ROUTE_SECRET }])] },
    { name: 'partners', inheritPolicies: false, policies: [jwtPolicy([rsIssuer])] },
    { name: 'open', inheritPolicies: false, policies: [] },
  ],
});

function io(result: LoadResult = { ok: true, config }) {
  const out: string[] = [];
  const err: string[] = [];
  const files: string[] = [];
  const fake: Partial<TokenIo> = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    load: async (file) => {
      files.push(file);
      return result;
    },
  };
  return { fake, out, err, files };
}

describe('finding the issuer to sign with', () => {
  it('takes the first jwt-auth issuer with a secret, top-level policies first', () => {
    const found = findSigningIssuer(config);
    assert.ok(typeof found !== 'string');
    assert.equal(found.issuer, 'https://dev.local/');
    assert.equal(found.algorithm, 'HS256');
    assert.equal(found.audience, 'api');
  });

  it('looks in routes when the top level has none', () => {
    const found = findSigningIssuer(parsed({ routes: [{ name: 'a' }, { name: 'b', policies: [jwtPolicy([hsIssuer])] }] }));
    assert.ok(typeof found !== 'string');
    assert.equal(found.issuer, 'https://dev.local/');
  });

  it('uses the policy that applies to the named route', () => {
    const own = findSigningIssuer(config, 'admin');
    assert.ok(typeof own !== 'string');
    assert.equal(own.issuer, 'https://admin.local/');
    assert.equal(own.algorithm, 'HS512');
    const inherited = findSigningIssuer(config, 'users');
    assert.ok(typeof inherited !== 'string');
    assert.equal(inherited.issuer, 'https://dev.local/');
  });

  it('says why when there is no issuer to sign with', () => {
    assert.match(findSigningIssuer(config, 'partners') as string, /route "partners" has no issuer with a secret/);
    assert.match(findSigningIssuer(config, 'open') as string, /route "open" has no jwt-auth policy/);
    assert.match(findSigningIssuer(config, 'nope') as string, /no route named "nope"/);
    assert.match(findSigningIssuer(parsed({ routes: [] })) as string, /no jwt-auth issuer with a secret/);
  });
});

describe('gatehouse token', () => {
  it('prints a token the issuer\'s secret verifies, with the defaults', async () => {
    const { fake, out, files } = io();
    const before = Math.floor(Date.now() / 1000);
    assert.equal(await tokenCommand([], fake), 0);
    assert.deepEqual(files, [demoConfigFile]);
    assert.equal(out.length, 1);
    assert.match(out[0]!, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await jwtVerify(out[0]!.trim(), new TextEncoder().encode(SECRET), { issuer: 'https://dev.local/', audience: 'api', algorithms: ['HS256'] });
    assert.equal(payload.sub, 'demo-user');
    assert.equal(payload.scope, undefined);
    assert.ok(payload.exp! - before >= 3600 && payload.exp! - before <= 3601);
  });

  it('takes the subject, scopes, lifetime, config file and route from flags', async () => {
    const { fake, out, files } = io();
    assert.equal(await tokenCommand(['-c', 'my.yaml', '--sub', 'alice', '--scope', 'a  b', '--ttl', '15m', '--route', 'admin'], fake), 0);
    assert.deepEqual(files, ['my.yaml']);
    const token = out[0]!.trim();
    assert.equal(decodeProtectedHeader(token).alg, 'HS512');
    const { payload } = await jwtVerify(token, new TextEncoder().encode(ROUTE_SECRET), { issuer: 'https://admin.local/' });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.scope, 'a b');
    assert.equal(payload.exp! - payload.iat!, 900);
  });

  it('notes required scopes and claims the token lacks on stderr', async () => {
    const { fake, err } = io();
    assert.equal(await tokenCommand([], fake), 0);
    assert.match(err.join(''), /requires scopes orders:read/);
    assert.match(err.join(''), /requires claims this token lacks: tenant\n/);
  });

  it('notes a required scope or aud claim only when the token lacks it', async () => {
    const policy = jwtPolicy([{ issuer: 'https://dev.local/', algorithms: ['HS256'], secret: SECRET }], { requiredClaims: ['sub', 'scope', 'aud'] });
    const bare = io({ ok: true, config: parsed({ policies: [policy], routes: [] }) });
    assert.equal(await tokenCommand([], bare.fake), 0);
    assert.match(bare.err.join(''), /requires claims this token lacks: scope, aud\n/);
    const scoped = io({ ok: true, config: parsed({ policies: [policy], routes: [] }) });
    assert.equal(await tokenCommand(['--scope', 'a'], scoped.fake), 0);
    assert.match(scoped.err.join(''), /requires claims this token lacks: aud\n/);
  });

  it('exits 2 with a message when no issuer has a secret', async () => {
    const { fake, out, err } = io();
    assert.equal(await tokenCommand(['--route', 'partners'], fake), 2);
    assert.deepEqual(out, []);
    assert.match(err.join(''), /^gatehouse token: \/.*examples\/demo\.yaml: the jwt-auth policy of route "partners" has no issuer with a secret/);
  });

  it('exits 2 and prints every problem of a bad config', async () => {
    const { fake, err } = io({ ok: false, problems: [{ file: 'x.yaml', line: 3, col: 5, path: 'routes[0].upstream', message: 'unknown upstream' }] });
    assert.equal(await tokenCommand(['-c', 'x.yaml'], fake), 2);
    assert.equal(err.join(''), 'x.yaml:3:5 routes[0].upstream: unknown upstream\n');
  });

  it('refuses a bad lifetime, an empty subject and unknown flags as usage errors', async () => {
    for (const argv of [['--ttl', 'forever'], ['--ttl', '10ms'], ['--sub', ''], ['--audience', 'x']]) {
      await assert.rejects(tokenCommand(argv, io().fake), (e: unknown) => e instanceof GatewayError && e.code === 'GW_ERR_USAGE', argv.join(' '));
    }
  });
});

describe('gatehouse token with a real config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-token-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };

  it('mints a token the demo config\'s orders route admits', async () => {
    const out: string[] = [];
    assert.equal(await tokenCommand(['--scope', 'orders:read'], { ...quiet, stdout: { write: (s: string) => out.push(s) } }), 0);
    const token = out[0]!.trim();
    const payload = decodeJwt(token);
    assert.equal(payload.iss, 'https://demo.gatehouse.local/');
    assert.equal(payload.aud, 'demo');
    assert.equal(payload.scope, 'orders:read');
    // The route's own jwt-auth policy, built from the same file, is the judge.
    const loaded = await loadConfigFile(demoConfigFile);
    assert.ok(loaded.ok);
    const entry = loaded.config.routes.find((r) => r.name === 'orders')?.policies.find((p) => p.type === 'jwt-auth');
    assert.ok(entry, 'the demo orders route has a jwt-auth policy');
    const policy = jwtAuth.create(entry as unknown as JwtAuthConfig, { log: pino({ level: 'silent' }), shared: new SharedResources() });
    const request = testExchange({ route: 'orders', path: '/api/orders', headers: { authorization: `Bearer ${token}` } });
    assert.equal(await policy.onRequest!(request), undefined, 'admitted');
    assert.equal(request.identity?.subject, 'demo-user');
    policy.close!();
  });

  it('signs with an issuer read through loadConfigFile', async () => {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, `upstreams:
  app: { targets: [{ url: "http://127.0.0.1:7001" }] }
policies:
  - type: jwt-auth
    issuers:
      - issuer: https://dev.local/
        audience: api
        algorithms: [HS256]
        secret: ${SECRET}
routes:
  - { name: app, match: { path: / }, upstream: app }
`);
    const out: string[] = [];
    assert.equal(await tokenCommand(['-c', file, '--sub', 'bob'], { ...quiet, stdout: { write: (s: string) => out.push(s) } }), 0);
    const payload = decodeJwt(out[0]!.trim());
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.aud, 'api');
    await jwtVerify(out[0]!.trim(), new TextEncoder().encode(SECRET), { issuer: 'https://dev.local/' });
  });
});
