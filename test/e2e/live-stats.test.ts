/**
 * Live statistics end to end: with `workers: 2` (the real CLI) the primary's windows hold both workers'
 * requests, merged from the buckets each worker sends with its snapshots, and the alert rules run once, in
 * the primary. In one process: the windows stay bounded by route names under 10,000 distinct paths and
 * through 100 reloads.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { get, jsonLines, poll } from '../helpers/e2e-process.ts';
import { openSse } from '../helpers/sse-client.ts';
import { spawnGateway, startGateway, tempDir, testConfig, type SpawnedGateway } from '../helpers/start-gateway.ts';
import { echoUpstreamPerFile } from '../helpers/e2e-file.ts';

let gw: SpawnedGateway | undefined;
const upstream = echoUpstreamPerFile(() => gw);

interface Minute {
  readonly overall: { requests: number; p50: number | null; statusClasses: Record<string, number> };
  readonly routes: Record<string, { requests: number }>;
}

describe('live statistics with workers: 2', () => {
  it('the primary\'s windows count every worker\'s requests, and a rule fires once for the instance', async () => {
    const file = join(tempDir('gatehouse-live-'), 'gatehouse.yaml');
    writeFileSync(file, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'workers: 2',
      'upstreams:',
      `  u: { targets: [{ url: "${upstream().url}" }] }`,
      'routes:',
      '  - { name: a, match: { path: /a }, upstream: u }',
      'alerts:',
      '  rules:',
      '    - { name: busy, signal: rps, route: a, above: 0, window: 1m }',
    ].join('\n'));
    gw = await spawnGateway(['start', '-c', file]);
    const pids = new Set<unknown>();
    for (let i = 0; i < 60; i++) {
      const answer = await get(`${gw.url}/a/${i}`);
      assert.equal(answer.status, 200);
    }
    for (let i = 0; i < 7; i++) assert.equal((await get(`${gw.url}/nowhere/${i}`)).status, 404);
    for (const line of jsonLines(gw.stdoutLines)) if (line.requestId !== undefined) pids.add(line.pid);
    assert.equal(pids.size, 2, 'both workers served');
    const sse = await openSse(`${gw.adminUrl}/events`);
    try {
      const minute = await poll(async () => {
        const stats = sse.events.filter((e) => e.event === 'stats').at(-1)?.data as { minute: Minute } | undefined;
        return stats !== undefined && stats.minute.overall.requests === 67 ? stats.minute : undefined;
      }, 'a stats event with all 67 requests', 10_000, 50);
      assert.equal(minute.routes.a!.requests, 60);
      assert.deepEqual(minute.overall.statusClasses, { '2xx': 60, '4xx': 7 });
      assert.ok(minute.overall.p50 !== null && minute.overall.p50 >= 0);
      const alerts = JSON.parse((await get(`${gw.adminUrl}/alerts`)).body) as { active: Array<{ rule: string; state: string }> };
      assert.deepEqual(alerts.active.map((a) => `${a.rule} ${a.state}`), ['busy firing']);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(jsonLines(gw.logLines).filter((l) => String(l.msg).startsWith('[FIRING] busy')).length, 1, 'evaluated once, in the primary');
    } finally {
      sse.close();
    }
  });
});

describe('live statistics memory', () => {
  it('stays bounded by route names under 10,000 distinct paths and through 100 reloads', async () => {
    const routes = (n: number) => Array.from({ length: 5 }, (_, i) => ({ name: `r${n}-${i}`, match: { path: `/r${i}` }, upstream: 'u' }));
    const g = await startGateway({ upstreams: { u: { targets: [{ url: upstream().url }] } }, routes: routes(0) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const live = g.instance.gateway.live;
      assert.equal(live.keys, 6, 'five routes and the requests no route matched');
      const send = (path: string) => new Promise<number>((resolve, reject) => {
        http.get(`${g.url}${path}`, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', reject);
      });
      for (let batch = 0; batch < 100; batch++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => send(batch % 2 ? `/r${i % 5}/item-${batch}-${i}` : `/unknown-${batch}-${i}`)));
      }
      assert.equal(live.keys, 6, '10,000 distinct paths add no key');
      const heapBefore = process.memoryUsage().heapUsed;
      for (let n = 1; n <= 100; n++) {
        g.instance.gateway.reload(testConfig({ upstreams: { u: { targets: [{ url: upstream().url }] } }, routes: routes(n) }));
        await send(`/r${n % 5}/x`);
        assert.equal(live.keys, 6, `after reload ${n}: only the current routes have windows`);
      }
      // Read as of the next second, so the second still running counts too.
      const w = live.window(60, live.now() + 1000);
      assert.equal(w.routes.size, 5);
      assert.deepEqual([...w.routes.keys()], routes(100).map((r) => r.name));
      assert.ok(w.overall.requests >= 10_000, String(w.overall.requests));
      // Generous: the windows themselves are a few hundred KB; this catches a leak per reload or per path.
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 50_000_000);
    } finally {
      agent.destroy();
      await g.close();
    }
  });
});
