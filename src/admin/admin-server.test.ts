import assert from 'node:assert/strict';
import type http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import { createAdminServer, type AdminState } from './admin-server.ts';

const snapshot: GatewaySnapshot = {
  workers: 2, requests: 40, inFlight: 1, statusClasses: { '2xx': 39, '5xx': 1 }, reasons: { upstream_connect_failure: 1 },
  targets: [{ upstream: 'u', url: 'http://127.0.0.1:1', inFlight: 1, available: true, healthy: true, breaker: 'closed', attempts: 40, failures: 1, latencyEwmaMs: 2.5 }],
};

let ready = true;
let snapshotOf: AdminState['snapshot'] = async () => snapshot;
let server: http.Server;
let base: string;

before(async () => {
  server = createAdminServer({ ready: () => ready, snapshot: () => snapshotOf() }, createLogger('silent'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function call(path: string, method = 'GET'): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${path}`, { method });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('admin listener', () => {
  it('answers GET /snapshot with the merged snapshot as JSON, never cached', async () => {
    const res = await call('/snapshot');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(JSON.parse(res.body), snapshot);
  });

  it('asks for a new snapshot on every request', async () => {
    let calls = 0;
    snapshotOf = async () => ({ ...snapshot, requests: ++calls });
    try {
      assert.equal((JSON.parse((await call('/snapshot')).body) as GatewaySnapshot).requests, 1);
      assert.equal((JSON.parse((await call('/snapshot?x=1')).body) as GatewaySnapshot).requests, 2, 'a query string is ignored');
    } finally {
      snapshotOf = async () => snapshot;
    }
  });

  it('answers HEAD /snapshot with the headers and no body', async () => {
    const res = await call('/snapshot', 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(JSON.stringify(snapshot)));
  });

  it('answers 500 internal_error when the snapshot cannot be taken', async () => {
    snapshotOf = async () => { throw new Error('boom'); };
    try {
      const res = await call('/snapshot');
      assert.equal(res.status, 500);
      const body = JSON.parse(res.body) as { error: { reason: string; requestId: string } };
      assert.equal(body.error.reason, 'internal_error');
      assert.ok(body.error.requestId);
      assert.doesNotMatch(res.body, /boom/, 'the cause goes to the log, not the client');
    } finally {
      snapshotOf = async () => snapshot;
    }
  });

  it('refuses other methods on /snapshot with 405 and Allow', async () => {
    const res = await call('/snapshot', 'POST');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal((JSON.parse(res.body) as { error: { reason: string } }).error.reason, 'method_not_allowed');
  });

  it('keeps /live and /ready as they were', async () => {
    assert.deepEqual(JSON.parse((await call('/live')).body), { status: 'live' });
    assert.equal((await call('/ready')).status, 200);
    ready = false;
    try {
      const res = await call('/ready');
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(res.body), { status: 'not_ready' });
    } finally {
      ready = true;
    }
  });

  it('answers 404 route_not_found for other paths, a path that only starts like one included', async () => {
    for (const path of ['/', '/snapshots', '/snapshot/x', '/metrics']) {
      const res = await call(path);
      assert.equal(res.status, 404, path);
      assert.equal((JSON.parse(res.body) as { error: { reason: string } }).error.reason, 'route_not_found');
    }
  });
});
