import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import { createAdminServer } from './admin-server.ts';
import { adminServerPerFile, adminTestConfig, adminTestSnapshot, fakeAdmin, TOKEN } from '../../test/helpers/admin-state.ts';
import { createSessions } from './auth.ts';

/** A parsed JSON body: its shape is what the assertions check. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const fake = fakeAdmin();
const state = fake.state;
const snapshot = adminTestSnapshot;

let base: string;
const auth = { authorization: `Bearer ${TOKEN}` };

adminServerPerFile(state, { token: TOKEN, sessions: createSessions() }, (url) => { base = url; });
beforeEach(() => {
  fake.running = adminTestConfig;
  fake.applied = [];
});

interface Res { status: number; headers: Headers; body: string; json: Json }
async function call(path: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(`${base}${path}`, init);
  const body = await res.text();
  let json: Json = {};
  try { json = JSON.parse(body) as Json; } catch { /* not JSON: the docs page */ }
  return { status: res.status, headers: res.headers, body, json };
}
const get = (path: string, headers: Record<string, string> = auth) => call(path, { headers });

function assertError(res: Res, status: number, reason: string): void {
  assert.equal(res.status, status, res.body);
  assert.equal(res.json.error.reason, reason);
  assert.equal(res.json.error.status, status);
  assert.match(res.json.error.requestId, /^[0-9a-f-]{36}$/);
  assert.equal(res.headers.get('x-request-id'), res.json.error.requestId);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
}

describe('admin access', () => {
  it('answers /live and /ready without a token', async () => {
    assert.deepEqual((await get('/live', {})).json, { status: 'live' });
    assert.equal((await get('/ready', {})).status, 200);
    fake.ready = false;
    try {
      const res = await get('/ready', {});
      assert.equal(res.status, 503);
      assert.deepEqual(res.json, { status: 'not_ready' });
    } finally {
      fake.ready = true;
    }
  });

  it('refuses every other resource without the token, or with a wrong one, with 401 admin_unauthorized', async () => {
    for (const path of ['/status', '/config', '/routes', '/upstreams', '/snapshot', '/explain?path=/']) {
      const res = await get(path, {});
      assertError(res, 401, 'admin_unauthorized');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse-admin"');
      assertError(await get(path, { authorization: `Bearer ${TOKEN}x` }), 401, 'admin_unauthorized');
      assertError(await get(path, { authorization: TOKEN }), 401, 'admin_unauthorized');
    }
    assertError(await call('/reload', { method: 'POST' }), 401, 'admin_unauthorized');
    assertError(await call('/config?dryRun=true', { method: 'POST', body: 'x: 1' }), 401, 'admin_unauthorized');
  });

  it('serves /openapi.json and /docs without a token', async () => {
    assert.equal((await get('/openapi.json', {})).status, 200);
    assert.equal((await get('/docs', {})).status, 200);
  });

  it('accepts the bearer token case-insensitively on the scheme', async () => {
    assert.equal((await get('/status', { authorization: `bearer ${TOKEN}` })).status, 200);
  });
});

describe('admin sessions', () => {
  async function openSession(): Promise<{ cookie: string; csrf: string }> {
    const res = await call('/session', { method: 'POST', headers: auth });
    assert.equal(res.status, 200, res.body);
    const setCookie = res.headers.get('set-cookie')!;
    assert.match(setCookie, /^gatehouse_admin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    assert.equal(res.json.csrfHeader, 'x-csrf-token');
    assert.ok(Date.parse(res.json.expiresAt) > Date.now());
    return { cookie: setCookie.split(';')[0]!, csrf: res.json.csrfToken as string };
  }

  it('needs the bearer token to open one', async () => {
    assertError(await call('/session', { method: 'POST' }), 401, 'admin_unauthorized');
    const { cookie } = await openSession();
    assertError(await call('/session', { method: 'POST', headers: { cookie } }), 401, 'admin_unauthorized');
  });

  it('lets the cookie read, but not a made-up or ended cookie', async () => {
    const { cookie, csrf } = await openSession();
    assert.equal((await get('/status', { cookie })).status, 200);
    assert.equal((await get('/status', { cookie: `other=1; ${cookie}` })).status, 200);
    assertError(await get('/status', { cookie: 'gatehouse_admin=made-up' }), 401, 'admin_unauthorized');
    const ended = await call('/session', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(ended.status, 200);
    assert.match(ended.headers.get('set-cookie')!, /Max-Age=0/);
    assertError(await get('/status', { cookie }), 401, 'admin_unauthorized');
  });

  it('lets the cookie change only with the CSRF token and from the same origin', async () => {
    const { cookie, csrf } = await openSession();
    const reload = (headers: Record<string, string>) => call('/reload', { method: 'POST', headers });
    assertError(await reload({ cookie }), 403, 'admin_csrf_failed');
    assertError(await reload({ cookie, 'x-csrf-token': 'wrong' }), 403, 'admin_csrf_failed');
    const other = await openSession();
    assertError(await reload({ cookie, 'x-csrf-token': other.csrf }), 403, 'admin_csrf_failed');
    assertError(await reload({ cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }), 403, 'admin_csrf_failed');
    assertError(await reload({ cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' }), 403, 'admin_csrf_failed');
    assert.equal((await reload({ cookie, 'x-csrf-token': csrf })).status, 200);
    const host = new URL(base).host;
    assert.equal((await reload({ cookie, 'x-csrf-token': csrf, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status, 200);
  });

  it('lets the bearer header change without a CSRF token', async () => {
    assert.equal((await call('/reload', { method: 'POST', headers: auth })).status, 200);
  });
});

/** fetch() will not send a Host header of our choosing; node:http will. */
async function rawGet(origin: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(origin);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, resolve).on('error', reject).end();
  });
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body };
}

describe('admin without a token (loopback only)', () => {
  let open: Server;
  let openBase: string;
  before(async () => {
    open = createAdminServer(state, createLogger('silent'));
    open.listen(0, '127.0.0.1');
    await once(open, 'listening');
    openBase = `http://127.0.0.1:${(open.address() as AddressInfo).port}`;
  });
  after(() => open.close());

  it('reads and changes from loopback, but refuses cross-site changes and foreign Host names', async () => {
    assert.equal((await fetch(`${openBase}/status`)).status, 200);
    assert.equal((await fetch(`${openBase}/reload`, { method: 'POST' })).status, 200);
    const crossSite = await fetch(`${openBase}/reload`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    assert.equal(((await crossSite.json()) as { error: { reason: string } }).error.reason, 'admin_csrf_failed');
    // A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away.
    const rebound = await rawGet(openBase, '/config', 'evil.example');
    assert.equal(rebound.status, 403);
    assert.equal((JSON.parse(rebound.body) as { error: { reason: string } }).error.reason, 'admin_host_not_allowed');
    assert.equal((await rawGet(openBase, '/live', 'pod-ip.example')).status, 200, 'probes need no Host check');
    assert.equal((await rawGet(openBase, '/config', 'localhost:9901')).status, 200);
  });
});

describe('admin routing', () => {
  it('answers 404 route_not_found for unknown paths, 405 with Allow for known ones', async () => {
    for (const path of ['/', '/statuses', '/status/x', '/live/x']) assertError(await get(path), 404, 'route_not_found');
    const res = await call('/status', { method: 'POST', headers: auth });
    assertError(res, 405, 'method_not_allowed');
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal((await call('/config', { method: 'PUT', headers: auth })).headers.get('allow'), 'GET, HEAD, POST');
  });

  it('answers HEAD with the head only, and never lets a reply be cached', async () => {
    const res = await call('/snapshot', { method: 'HEAD', headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(JSON.stringify(snapshot)));
    assert.equal((await get('/status')).headers.get('cache-control'), 'no-store');
  });

  it('answers 500 internal_error, without the cause, when a resource fails', async () => {
    fake.snapshotOf = async () => { throw new Error('boom'); };
    try {
      const res = await get('/snapshot');
      assertError(res, 500, 'internal_error');
      assert.doesNotMatch(res.body, /boom/);
    } finally {
      fake.snapshotOf = async () => snapshot;
    }
  });
});
