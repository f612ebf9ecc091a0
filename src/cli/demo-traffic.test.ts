import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { SLOW_EVERY_MS, SLOW_FOR_MS, slowAt } from './demo-services.ts';
import { demoRequest, MAX_IN_FLIGHT, startTraffic } from './demo-traffic.ts';

async function server(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const s = http.createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the demo traffic', () => {
  it('mixes every route in fixed proportions, with and without credentials', () => {
    const cycle = Array.from({ length: 20 }, (_, n) => demoRequest(n, 'jwt'));
    const count = (f: (r: (typeof cycle)[number]) => boolean) => cycle.filter(f).length;
    assert.equal(count((r) => r.path === '/api/users'), 12);
    assert.equal(count((r) => r.path === '/api/orders' && r.headers?.authorization === 'Bearer jwt'), 3);
    assert.equal(count((r) => r.path === '/api/orders' && r.headers === undefined), 1);
    assert.equal(count((r) => r.path.startsWith('/api/inventory/') && r.headers?.['x-api-key'] === 'demo-traffic-key'), 3);
    assert.equal(count((r) => r.path === '/api/nope'), 1);
    assert.ok(Array.from({ length: 20 }, (_, n) => demoRequest(n, undefined)).every((r) => r.headers?.authorization === undefined), 'no token, no bearer');
  });

  it('only goes to loopback', () => {
    assert.throws(() => startTraffic('http://192.0.2.1:8080', undefined), /only goes to loopback/);
    assert.throws(() => startTraffic('http://example.com', undefined), /only goes to loopback/);
  });

  it('sends requests to the gateway until stopped', async () => {
    const paths: string[] = [];
    const s = await server((req, res) => {
      paths.push(req.url!);
      res.end('ok');
    });
    const traffic = startTraffic(s.url, 'jwt', 5);
    await until(() => paths.length >= 20, 10_000, '20 requests');
    await traffic.stop();
    const stoppedAt = paths.length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(paths.length, stoppedAt, 'nothing after stop()');
    assert.ok(paths.includes('/api/users') && paths.includes('/api/nope'));
    s.server.close();
  });

  it('keeps at most MAX_IN_FLIGHT requests open when the gateway does not answer', async () => {
    const held: http.ServerResponse[] = [];
    const s = await server((_req, res) => void held.push(res));
    const traffic = startTraffic(s.url, undefined, 1);
    await until(() => held.length >= MAX_IN_FLIGHT, 10_000, `${MAX_IN_FLIGHT} requests held`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(held.length, MAX_IN_FLIGHT, 'no more while they are all in flight');
    for (const res of held) res.end('late');
    await traffic.stop();
    s.server.closeAllConnections();
    s.server.close();
  });
});

describe('the users service\'s slow spells', () => {
  it('are the last SLOW_FOR_MS of every SLOW_EVERY_MS', () => {
    const start = 1_000_000;
    assert.equal(slowAt(start, start), false);
    assert.equal(slowAt(start + SLOW_EVERY_MS - SLOW_FOR_MS - 1, start), false);
    assert.equal(slowAt(start + SLOW_EVERY_MS - SLOW_FOR_MS, start), true);
    assert.equal(slowAt(start + SLOW_EVERY_MS - 1, start), true);
    assert.equal(slowAt(start + SLOW_EVERY_MS, start), false, 'fast again at the start of the next cycle');
    const slowMs = Array.from({ length: SLOW_EVERY_MS / 100 }, (_, i) => slowAt(start + i * 100, start)).filter(Boolean).length * 100;
    assert.equal(slowMs, SLOW_FOR_MS);
  });
});
