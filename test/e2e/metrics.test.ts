/**
 * GET /metrics as an operator uses it: the real CLI with `workers: 1` and `workers: 2`, a real upstream, and
 * a real Prometheus (Debian's package) scraping both admin listeners every second. After known traffic the
 * gateway's own text and Prometheus' query answer agree with the count the test sent; with two workers the
 * primary's scrape is the sum over them plus its own series, and stays whole when a worker is killed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { get, jsonLines, killIfRunning, pidAlive, poll } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { missing, promtoolProblems, sample, startPrometheus, total, type PrometheusServer } from '../helpers/prometheus.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const API = 'route="api",method="GET",status_class="2xx",reason="none"';

function configText(upstream: string, workers: number): string {
  return [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    `workers: ${workers}`,
    'upstreams:',
    `  u: { targets: [{ url: "${upstream}" }] }`,
    'routes:',
    '  - { name: api, match: { path: /api }, upstream: u }',
  ].join('\n');
}

async function metricsOf(g: SpawnedGateway): Promise<string> {
  const answer = await get(`${g.adminUrl}/metrics`);
  assert.equal(answer.status, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return answer.body;
}

/** The primary's /metrics once the api route's count reaches `count` (bounded: counts land as responses close). */
async function metricsWhen(g: SpawnedGateway, count: number): Promise<string> {
  return poll(async () => {
    const text = await metricsOf(g);
    return (sample(text, 'gatehouse_requests_total', API) ?? 0) >= count ? text : undefined;
  }, `gatehouse_requests_total{${API}} to reach ${count}`, 10_000, 50);
}

/** `n` GETs of /api/… on fresh connections (so both workers take some), each 200. */
async function traffic(g: SpawnedGateway, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await get(`${g.url}/api/${tag}-${i}`, { 'x-request-id': `metrics-${tag}-${i}` })).status, 200);
}

const skip = missing('prometheus') || missing('promtool');

describe('GET /metrics and a real Prometheus', { skip }, () => {
  let upstream: FakeUpstream;
  let single: SpawnedGateway;
  let pair: SpawnedGateway;
  let prometheus: PrometheusServer;
  const hostOf = (g: SpawnedGateway) => g.adminUrl!.replace('http://', '');

  before(async () => {
    upstream = await startUpstream(echo('u'));
    const dir = tempDir('gatehouse-metrics-');
    writeFileSync(join(dir, 'one.yaml'), configText(upstream.url, 1));
    writeFileSync(join(dir, 'two.yaml'), configText(upstream.url, 2));
    single = await spawnGateway(['start', '-c', join(dir, 'one.yaml')]);
    pair = await spawnGateway(['start', '-c', join(dir, 'two.yaml')]);
    prometheus = await startPrometheus([hostOf(single), hostOf(pair)]);
  });
  after(async () => {
    await prometheus?.stop();
    for (const g of [pair, single]) {
      if (!g) continue;
      await g.stop('SIGTERM').catch(() => killIfRunning(g.proc));
    }
    await upstream?.close();
  });

  /** Prometheus' answer for the api route's count on `g`, once it equals `count` (bounded: scrapes are 1 s apart). */
  async function queried(g: SpawnedGateway, count: number): Promise<number> {
    const promql = `sum(gatehouse_requests_total{instance="${hostOf(g)}",route="api",status_class="2xx"})`;
    let last: number | undefined;
    return poll(async () => {
      last = await prometheus.query(promql);
      return last === count ? last : undefined;
    }, `Prometheus to read ${count} for ${promql} (last: ${last})`, 20_000, 250);
  }

  it('workers: 1: the scrape counts the traffic, passes promtool, and Prometheus reads the same count', async () => {
    await traffic(single, 7, 'one');
    const text = await metricsWhen(single, 7);
    assert.equal(sample(text, 'gatehouse_requests_total', API), 7);
    assert.equal(sample(text, 'gatehouse_request_duration_seconds_count', 'route="api"'), 7);
    assert.equal(sample(text, 'gatehouse_upstream_attempts_total', `upstream="u",target="${upstream.url}",outcome="response"`), 7);
    assert.equal(sample(text, 'gatehouse_config_reloads_total', 'result="success"'), 0);
    assert.equal(promtoolProblems(text), '');
    assert.equal(await queried(single, 7), 7);
  });

  it('workers: 2: one scrape of the primary sums both workers and has the primary\'s own series', async () => {
    await traffic(pair, 20, 'two');
    const text = await metricsWhen(pair, 20);
    // Access log lines are written in batches: wait for all 20 before reading which pids served.
    const lines = await poll(async () => {
      const found = jsonLines(pair.stdoutLines).filter((l) => String(l.requestId).startsWith('metrics-two-'));
      return found.length === 20 ? found : undefined;
    }, 'the 20 access log lines', 5000, 20);
    const pids = new Set(lines.map((l) => l.pid));
    assert.equal(pids.size, 2, 'both workers served some of the traffic');
    assert.equal(sample(text, 'gatehouse_requests_total', API), 20);
    assert.equal(total(text, 'gatehouse_upstream_attempts_total'), 20);
    assert.equal(sample(text, 'gatehouse_target_available', `upstream="u",target="${upstream.url}"`), 1, 'one available target reads 1 across two workers');
    assert.equal(sample(text, 'gatehouse_in_flight_requests', ''), 0);
    assert.equal(promtoolProblems(text), '');
    // A reload is counted by the primary, the process that loads the config.
    pair.proc.kill('SIGHUP');
    await pair.waitForLog('config reloaded', 10_000);
    const reloaded = await poll(async () => {
      const t = await metricsOf(pair);
      return sample(t, 'gatehouse_config_reloads_total', 'result="success"') === 1 ? t : undefined;
    }, 'the reload to be counted', 5000, 50);
    assert.equal(sample(reloaded, 'gatehouse_requests_total', API), 20);
    assert.equal(await queried(pair, 20), 20);
  });

  it('workers: 2: a killed worker\'s counts stay in the sum, and the scrape does not wait for it', async () => {
    const before = sample(await metricsWhen(pair, 20), 'gatehouse_requests_total', API)!;
    const victim = jsonLines(pair.stdoutLines).find((l) => String(l.requestId).startsWith('metrics-two-'))?.pid as number;
    assert.equal(typeof victim, 'number');
    process.kill(victim, 'SIGKILL');
    await until(() => !pidAlive(victim), 5000, 'the killed worker to be gone');
    const started = performance.now();
    const after = await metricsOf(pair);
    // A bound, not a speed claim: a scrape that waited on the dead worker would take a whole timeout.
    assert.ok(performance.now() - started < 2000, 'the scrape answered without waiting for the dead worker');
    assert.equal(sample(after, 'gatehouse_requests_total', API), before, 'the dead worker\'s counts are kept');
    await pair.waitForLog('worker died; starting a replacement', 5000);
    await traffic(pair, 6, 'three');
    const grown = await metricsWhen(pair, before + 6);
    assert.equal(sample(grown, 'gatehouse_requests_total', API), before + 6);
    assert.equal(await queried(pair, before + 6), before + 6);
  });
});
