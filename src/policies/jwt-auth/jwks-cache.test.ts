import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import pino from 'pino';
import { startUpstream, until, type FakeUpstream } from '../../../test/helpers/fake-upstream.ts';
import { JwksCache, retryDelay, type JwksCacheOptions } from './jwks-cache.ts';

type Mode = 'up' | 'down' | 'not-json' | 'empty' | 'huge' | 'hang';

interface JwksServer {
  readonly url: string;
  mode: Mode;
  keys: JWK[];
  /** Arrival times (Date.now) of every request. */
  readonly hits: number[];
  close(): Promise<void>;
}

const servers: FakeUpstream[] = [];

async function jwksServer(keys: JWK[], mode: Mode = 'up'): Promise<JwksServer> {
  const hits: number[] = [];
  const state: JwksServer = {
    url: '', mode, keys, hits,
    close: async () => undefined,
  };
  const answer = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const upstream: FakeUpstream = await startUpstream((_req, res) => {
    hits.push(Date.now());
    switch (state.mode) {
      case 'down': return answer(res, 503, '{}');
      case 'not-json': return answer(res, 200, '<html>');
      case 'empty': return answer(res, 200, '{"keys":[]}');
      case 'huge': return answer(res, 200, JSON.stringify({ keys: state.keys, pad: 'x'.repeat(1024 * 1024 + 1) }));
      case 'hang': return undefined;
      default: return answer(res, 200, JSON.stringify({ keys: state.keys }));
    }
  });
  servers.push(upstream);
  return Object.assign(state, { url: `${upstream.url}/jwks.json`, close: () => upstream.close() });
}

const silent = pino({ level: 'silent' });
const { publicKey } = await generateKeyPair('ES256');
const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };

const open: JwksCache[] = [];
// A failed assertion skips a test's own cleanup; this keeps the process from hanging on open servers.
after(async () => {
  for (const cache of open) cache.close();
  await Promise.all(servers.map((server) => server.close()));
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

describe('the JWKS cache', () => {
  it('fetches at construction, before anyone asks for keys', async () => {
    const server = await jwksServer([jwk]);
    const c = cache(server.url);
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    assert.equal(server.hits.length, 1);
    c.close();
    await server.close();
  });

  it('refetches at most once per refetch interval, sharing the fetch in flight', async () => {
    const server = await jwksServer([jwk]);
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
    await server.close();
  });

  it('keeps the last good keys when a refetch fails in any way', async () => {
    const server = await jwksServer([jwk]);
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
    await server.close();
  });

  it('refreshes in the background once the keys are older than the cache age', async () => {
    const server = await jwksServer([jwk]);
    const c = cache(server.url, { cacheAge: 50 });
    await until(() => c.keys !== undefined, 2000, 'warm-up');
    const first = c.keys;
    await until(() => server.hits.length >= 3 && c.keys !== first, 3000, 'background refreshes');
    c.close();
    await server.close();
  });

  it('retries a failing endpoint with growing delays and loads the keys once it answers', async () => {
    const server = await jwksServer([jwk], 'down');
    const c = cache(server.url, { refetchInterval: 100, cacheAge: 60_000 });
    await until(() => server.hits.length >= 4, 5000, 'four attempts');
    const gaps = server.hits.slice(1).map((t, i) => t - server.hits[i]!);
    // First retries wait about 100, 200 and 400 ms (minus up to 20 % jitter).
    assert.ok(gaps[0]! >= 70, `first gap ${gaps[0]}`);
    assert.ok(gaps[2]! > gaps[0]!, `gaps grow: ${gaps.join(', ')}`);
    assert.equal(c.keys, undefined);
    server.mode = 'up';
    await until(() => c.keys !== undefined, 5000, 'recovery');
    c.close();
    await server.close();
  });

  it('gives up on a fetch that takes longer than the timeout', { timeout: 5000 }, async () => {
    const server = await jwksServer([jwk], 'hang');
    const c = cache(server.url, { timeout: 100, refetchInterval: 60_000 });
    const started = Date.now();
    assert.equal(await c.refetch(), undefined);
    assert.ok(Date.now() - started < 1500, 'bounded by the timeout');
    c.close();
    await server.close();
  });

  it('stops its refresh timer when closed', async () => {
    const server = await jwksServer([jwk]);
    const c = cache(server.url, { cacheAge: 30, refetchInterval: 30 });
    await until(() => server.hits.length >= 2, 2000, 'a background refresh');
    c.close();
    // A request sent just before close may still arrive; count from after that, over several cache ages.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const hits = server.hits.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(server.hits.length, hits, 'no fetch after close');
    assert.equal(await c.refetch(), undefined);
    assert.equal(server.hits.length, hits);
    await server.close();
  });

  // Without the abort, `pending` would wait for the 60 s fetch timeout and the test's own timeout fails it.
  it('aborts a fetch in flight when closed', { timeout: 2000 }, async () => {
    const server = await jwksServer([jwk], 'hang');
    const c = cache(server.url, { timeout: 60_000 });
    await until(() => server.hits.length === 1, 2000, 'first fetch');
    const pending = c.refetch();
    c.close();
    assert.equal(await pending, undefined);
    assert.equal(server.hits.length, 1, 'no fetch after close');
    await server.close();
  });

  it('logs a warning when a refetch fails and keeps serving', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line); } });
    const server = await jwksServer([jwk]);
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
    await server.close();
  });
});
