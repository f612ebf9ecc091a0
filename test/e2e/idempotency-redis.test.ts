/**
 * The idempotency policy's Redis store end to end: two Gatehouse processes sharing one real redis-server
 * (a request to one, its replay and its in-flight duplicate from the other), the in-flight marker's life
 * (the route's timeout plus 5 s), and Redis going away: keyed requests get 503 idempotency_unavailable,
 * requests without a key still pass, and the store is used again once Redis is back.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { poll, request, type Answer } from '../helpers/e2e-process.ts';
import { startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

/** /ok answers 201 at once with a hit count; /slow waits for release(). */
function service(): { handler: http.RequestListener; release: () => void; hits: (path: string) => number } {
  const counts = new Map<string, number>();
  let held: Array<() => void> = [];
  const handler: http.RequestListener = (req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url!;
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const answer = () => {
        const body = JSON.stringify({ n, path });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-charge': `ch_${n}` });
        res.end(body);
      };
      if (path.endsWith('/slow')) held.push(answer);
      else answer();
    });
  };
  return { handler, release: () => { for (const f of held) f(); held = []; }, hits: (path) => counts.get(path) ?? 0 };
}

const post = (base: string, path: string, key: string | undefined, body = '{"amount":10}'): Promise<Answer> =>
  request(base, path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) } });

describe('idempotency policy (redis store, two processes)', () => {
  let redis: RedisServer;
  let svc: ReturnType<typeof service>;
  let up: FakeUpstream;
  let a: SpawnedGateway;
  let b: SpawnedGateway;
  let raw: Redis;

  before(async () => {
    redis = await startRedis();
    svc = service();
    up = await startUpstream(svc.handler);
    const file = join(tempDir(), 'gatehouse.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: 0 }
admin: { enabled: false }
log: { level: warn, access: { enabled: false } }
redis: { url: "${redis.url}", commandTimeout: 500ms, keyPrefix: "gh-test:" }
upstreams:
  svc: { targets: [{ url: "${up.url}" }] }
routes:
  - name: pay
    match: { path: /pay }
    upstream: svc
    timeout: 2s
    policies:
      - type: idempotency
        store: redis
        ttl: 24h
        maxBody: 1MiB
        methods: [POST, PATCH]
`);
    [a, b] = await Promise.all([spawnGateway(['start', file]), spawnGateway(['start', file])]);
    raw = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  });

  after(async () => {
    svc.release();
    raw.disconnect();
    await Promise.all([a.stop(), b.stop()]);
    await up.close();
    await redis.stop();
  });

  it('replays from one process the answer the other stored, the upstream hit once', async () => {
    const first = await post(a.url, '/pay/ok', 'k-shared');
    const replay = await post(b.url, '/pay/ok', 'k-shared');
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(replay.status, 201);
    assert.equal(replay.body, first.body);
    assert.equal(replay.headers['x-charge'], 'ch_1');
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(svc.hits('/pay/ok'), 1);
    assert.equal((await post(b.url, '/pay/ok', 'k-shared', '{"amount":99}')).status, 422);
  });

  it('answers 409 in one process while the other holds the first, under a marker that lives the route timeout plus 5 s', async () => {
    const first = post(a.url, '/pay/slow', 'k-held');
    await until(() => up.received.some((r) => r.url === '/pay/slow'), 3000, 'the first request upstream');
    const duplicate = await post(b.url, '/pay/slow', 'k-held');
    assert.equal(duplicate.status, 409);
    assert.equal(JSON.parse(duplicate.body).error.reason, 'idempotency_in_progress');
    const keys = await raw.keys('gh-test:idempotency:*');
    const ttls = await Promise.all(keys.map((k) => raw.pttl(k)));
    // Exactly one key is short-lived: the marker (timeout 2 s + 5 s); the stored answer above lives 24 h.
    const markers = ttls.filter((t) => t > 0 && t <= 7000);
    assert.equal(markers.length, 1, `ttls ${ttls.join(',')}`);
    assert.ok(markers[0]! > 5000);
    svc.release();
    const answered = await first;
    const replay = await post(b.url, '/pay/slow', 'k-held');
    assert.equal(replay.body, answered.body);
    assert.equal(svc.hits('/pay/slow'), 1);
  });

  it('refuses keyed requests with 503 idempotency_unavailable while Redis is down, passes others, and recovers', async () => {
    await redis.stop();
    const keyed = await poll(async () => {
      const answer = await post(a.url, '/pay/ok', 'k-down');
      return answer.status === 503 ? answer : undefined;
    }, 'a 503 while Redis is down', 10_000, 50);
    assert.equal(JSON.parse(keyed.body).error.reason, 'idempotency_unavailable');
    const hitsBefore = svc.hits('/pay/ok');
    assert.equal((await post(a.url, '/pay/ok', undefined)).status, 201);
    assert.equal(svc.hits('/pay/ok'), hitsBefore + 1);
    await a.waitForLog('idempotency: store unreachable');
    await redis.start();
    const back = await poll(async () => {
      const answer = await post(a.url, '/pay/ok', 'k-back');
      return answer.status === 201 ? answer : undefined;
    }, 'a keyed request admitted once Redis is back', 15_000, 100);
    // The other process reconnects on its own backoff: poll it too, then its repeat must be the replay.
    const replay = await poll(async () => {
      const answer = await post(b.url, '/pay/ok', 'k-back');
      return answer.status === 503 ? undefined : answer;
    }, 'the other process using Redis again', 15_000, 100);
    assert.equal(replay.body, back.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
  });
});
