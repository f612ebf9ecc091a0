/** GET /metrics on the admin listener: the text with Prometheus' content type and no token, 404 when metrics are off, 500 when reading fails. */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import { fakeAdmin, listenOnLoopback, TOKEN } from '../../test/helpers/admin-state.ts';
import { createAdminServer } from './admin-server.ts';
import { metricsResource } from './metrics-resource.ts';

const servers: http.Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function adminWith(read: (() => Promise<string>) | undefined): Promise<string> {
  const server = createAdminServer(fakeAdmin().state, createLogger('silent'), { token: TOKEN, extra: read ? [metricsResource(read)] : [] });
  servers.push(server);
  return `${await listenOnLoopback(server)}/metrics`;
}

describe('GET /metrics', () => {
  it('serves the text format with no token and no caching', async () => {
    const res = await fetch(await adminWith(async () => 'gatehouse_requests_total 3\n'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(await res.text(), 'gatehouse_requests_total 3\n');
  });

  it('is an unknown path when metrics are off', async () => {
    const res = await fetch(await adminWith(undefined), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 404);
    assert.equal((JSON.parse(await res.text()) as { error: { reason: string } }).error.reason, 'route_not_found');
  });

  it('answers 500 internal_error when reading the metrics fails', async () => {
    const res = await fetch(await adminWith(() => Promise.reject(new Error('broken'))));
    assert.equal(res.status, 500);
    assert.match(await res.text(), /internal_error/);
  });
});
