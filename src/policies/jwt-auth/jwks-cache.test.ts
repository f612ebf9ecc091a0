import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import pino from 'pino';
import { until } from '../../../test/helpers/fake-upstream.ts';
import { mockJwksEndpoint, startJwksServer } from '../../../test/helpers/mock-jwks.ts';
import { JwksCache, retryDelay, type JwksCacheOptions } from './jwks-cache.ts';

const silent = pino({ level: 'silent' });
const { publicKey } = await generateKeyPair('ES256');
const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };

const open: JwksCache[] = [];
// A failed assertion skips a test's own cleanup; this keeps the process from hanging on open caches.
after(() => {
  for (const cache of open) cache.close();
});

function cache(url: string, options: Partial<JwksCacheOptions> = {}): JwksCache {
  const made = new JwksCache({ url, cacheAge: 60_000, refetchInterval: 1000, timeout: 2000, log: silent, ...options });
  open.push(made);
  return made;
}

describe('JWKS retry delays', () => {
  it('double from the first delay and stop at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 100, 1000)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(retryDelay(10_000, 100, 300_000), 300_000);
  });
});

// Before any test that starts a real server: see test/helpers/mock-jwks.ts. The rate-limit clock stands still
// here until a test moves it, so refetch() starts no fetch of its own: it waits for the fetch in flight, if
// any, and returns the keys held after it.
describe('the JWKS cache as time passes', () => {
  it('refreshes in the background once the keys are older than the cache age', async (t) => {
    const endpoint = mockJwksEndpoint(t, [jwk]);
    const c = cache(endpoint.url, { cacheAge: 60_000, now: () => 0 });
    const first = await c.refetch();
    assert.ok(first, 'warm-up');
    t.mock.timers.tick(59_999);
    assert.equal(endpoint.hits.length, 1, 'still fresh');
    t.mock.timers.tick(1);
    assert.equal(endpoint.hits.length, 2, 'refreshed at the cache age');
    const second = await c.refetch();
    assert.ok(second !== undefined && second !== first, 'the refreshed keys replace the first');
    t.mock.timers.tick(60_000);
    assert.equal(endpoint.hits.length, 3, 'and again a cache age later');
    assert.ok((await c.refetch()) !== second);
    c.close();
  });

  it('retries a failing endpoint with growing delays and loads the keys once it answers', async (t) => {
    const endpoint = mockJwksEndpoint(t, [jwk], 'down');
    // Jitter at its lowest: each wait is 80 % of its step, the earliest a retry may come.
    t.mock.method(Math, 'random', () => 0);
    const c = cache(endpoint.url, { refetchInterval: 100, cacheAge: 60_000, now: () => 0 });
    assert.equal(await c.refetch(), undefined, 'the first fetch failed');
    // Steps of 100, 200 and 400 ms, less the jitter.
    for (const [retry, wait] of [[1, 80], [2, 160], [3, 320]] as const) {
      t.mock.timers.tick(wait - 1);
      assert.equal(endpoint.hits.length, retry, `retry ${retry} not before ${wait} ms`);
      t.mock.timers.tick(1);
      assert.equal(endpoint.hits.length, retry + 1, `retry ${retry} at ${wait} ms`);
      assert.equal(await c.refetch(), undefined);
    }
    endpoint.mode = 'up';
    t.mock.timers.tick(640);
    assert.equal(endpoint.hits.length, 5);
    assert.ok(await c.refetch(), 'recovered');
    c.close();
  });

  it('gives up on a fetch that takes longer than the timeout', { timeout: 5000 }, async (t) => {
    const endpoint = mockJwksEndpoint(t, [jwk], 'hang');
    const c = cache(endpoint.url, { timeout: 100, refetchInterval: 60_000, now: () => 0 });
    let settled = false;
    const pending = c.refetch().finally(() => { settled = true; });
    t.mock.timers.tick(99);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'still waiting before the timeout');
    t.mock.timers.tick(1);
    assert.equal(await pending, undefined);
    assert.equal(endpoint.hits.length, 1);
    c.close();
  });

  it('joins a fetch still in flight after the refetch interval has passed instead of starting another', async (t) => {
    const endpoint = mockJwksEndpoint(t, [jwk], 'hang');
    let now = 0;
    const c = cache(endpoint.url, { timeout: 60_000, refetchInterval: 100, now: () => now });
    now += 1000;
    const pending = c.refetch();
    assert.equal(endpoint.hits.length, 1, 'only the fetch from construction');
    c.close();
    assert.equal(await pending, undefined);
  });

  it('stops its refresh timer when closed', async (t) => {
    const endpoint = mockJwksEndpoint(t, [jwk]);
    let now = 0;
    const c = cache(endpoint.url, { cacheAge: 30, refetchInterval: 30, now: () => now });
    assert.ok(await c.refetch(), 'warm-up');
    t.mock.timers.tick(30);
    assert.equal(endpoint.hits.length, 2, 'a background refresh');
    assert.ok(await c.refetch());
    c.close();
    // Many cache ages later, with the refetch interval long past: nothing fetches.
    now += 60_000;
    t.mock.timers.tick(60_000);
    assert.equal(endpoint.hits.length, 2, 'no fetch after close');
    assert.equal(await c.refetch(), undefined);
    assert.equal(endpoint.hits.length, 2);
  });
});

describe('the JWKS cache', () => {
  it('fetches at construction, before anyone asks for keys', async (t) => {
    const server = await startJwksServer(t, [jwk]);
    const c = cache(server.url);
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    assert.equal(server.hits.length, 1);
    c.close();
  });

  it('refetches at most once per refetch interval, sharing the fetch in flight', async (t) => {
    const server = await startJwksServer(t, [jwk]);
    let now = 0;
    const c = cache(server.url, { refetchInterval: 30_000, now: () => now });
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    const first = c.keys;
    assert.equal(await c.refetch(), first, 'too soon: no fetch, same keys');
    assert.equal(server.hits.length, 1);
    now += 30_000;
    const results = await Promise.all([c.refetch(), c.refetch(), c.refetch(), c.refetch(), c.refetch()]);
    assert.equal(server.hits.length, 2, 'five concurrent askers, one fetch');
    assert.ok(results.every((keys) => keys === results[0] && keys !== first));
    c.close();
  });

  it('keeps the last good keys when a refetch fails in any way', async (t) => {
    const server = await startJwksServer(t, [jwk]);
    let now = 0;
    const c = cache(server.url, { refetchInterval: 1000, now: () => now });
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    const good = c.keys;
    for (const mode of ['down', 'not-json', 'empty', 'huge'] as const) {
      server.mode = mode;
      now += 1000;
      const before = server.hits.length;
      assert.equal(await c.refetch(), good, mode);
      assert.equal(server.hits.length, before + 1, mode);
    }
    c.close();
  });

  // Without the abort, `pending` would wait for the 60 s fetch timeout and the test's own timeout fails it.
  it('aborts a fetch in flight when closed', { timeout: 2000 }, async (t) => {
    const server = await startJwksServer(t, [jwk], 'hang');
    const c = cache(server.url, { timeout: 60_000 });
    await until(() => server.hits.length === 1, 2000, 'first fetch');
    const pending = c.refetch();
    c.close();
    assert.equal(await pending, undefined);
    assert.equal(server.hits.length, 1, 'no fetch after close');
  });

  it('logs a warning when a refetch fails and keeps serving', async (t) => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line); } });
    const server = await startJwksServer(t, [jwk]);
    let now = 0;
    const c = cache(server.url, { log, now: () => now });
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    server.mode = 'down';
    now += 1000;
    await c.refetch();
    const warning = JSON.parse(lines.at(-1)!) as { level: number; msg: string; error: string; url: string };
    assert.equal(warning.level, 40);
    assert.match(warning.msg, /keeping the last good keys/);
    assert.equal(warning.error, 'HTTP 503');
    assert.equal(warning.url, server.url);
    c.close();
  });
});
