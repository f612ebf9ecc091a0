/**
 * The primary's side against two real cluster workers (src/main.ts run as workers, as in production): the
 * merged snapshot, commands, reloads applied everywhere or nowhere, and a dead worker's snapshot dropped.
 */
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { mainScript, tempDir, testConfig } from '../../test/helpers/start-gateway.ts';
import type { Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import { startCluster } from './cluster.ts';
import type { Workers } from './workers.ts';

// Targets are never contacted: the tests look at what the workers serve through their snapshots.
const [A, B, C] = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];

function config(targets: string[], extra: Record<string, unknown> = {}): Config {
  return testConfig({
    log: { level: 'silent', access: { enabled: false } },
    upstreams: { u: { targets: targets.map((url) => ({ url })) }, ...extra },
    routes: [{ name: 'a', match: { path: '/a' }, upstream: 'u' }],
  });
}

const urls = (s: GatewaySnapshot) => s.targets.map((t) => t.url);
const liveWorkers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());

let workers: Workers;

before(async () => {
  // The workers run the real entry point; their own logs are not part of this test's output.
  cluster.setupPrimary({ exec: mainScript, silent: true });
  workers = await startCluster(config([A, B]), 2, createLogger('silent'));
});
after(async () => {
  await workers.shutdown();
});

describe('startCluster with two workers', () => {
  it('merges both workers\' snapshots into one, listing each target once', async () => {
    const snapshot = await workers.snapshot();
    assert.equal(snapshot.workers, 2);
    assert.deepEqual(urls(snapshot), [A, B]);
    assert.equal(snapshot.requests, 0);
    assert.ok(workers.ready());
  });

  it('applies a command in every worker: a target is unavailable only once both have applied it', async () => {
    await workers.command({ type: 'set-target-available', upstream: 'u', url: B, available: false });
    // The merge reports a target available while any worker may use it, so false means both applied it.
    assert.deepEqual((await workers.snapshot()).targets.map((t) => [t.url, t.available]), [[A, true], [B, false]]);
    await workers.command({ type: 'set-target-available', upstream: 'u', url: B, available: true });
    assert.deepEqual((await workers.snapshot()).targets.map((t) => t.available), [true, true]);
  });

  it('rejects a command a worker cannot apply, with the worker\'s reason', async () => {
    await assert.rejects(
      workers.command({ type: 'set-target-available', upstream: 'u', url: C, available: false }),
      /^Error: worker \d+: Error: upstream "u" has no target http:\/\/127\.0\.0\.1:3$/,
    );
    await workers.command({ type: 'reopen-logs' });
    await workers.command({ type: 'purge' });
  });

  it('rejects a reload no worker can build, discards it everywhere and keeps serving the old config', async () => {
    const unbuildable = config([A, B, C], { v: { targets: [{ url: 'https://127.0.0.1:4' }], tls: { ca: tempDir() } } });
    await assert.rejects(workers.reload(unbuildable), /^Error: worker \d+: .*EISDIR/);
    assert.deepEqual(urls(await workers.snapshot()), [A, B]);
  });

  it('applies a reload in every worker', async () => {
    await workers.reload(config([A, B, C]));
    const snapshot = await workers.snapshot();
    assert.equal(snapshot.workers, 2);
    assert.deepEqual(urls(snapshot), [A, B, C]);
  });

  it('drops a dead worker\'s snapshot, then merges its replacement\'s, which serves the current config', async () => {
    const [victim] = liveWorkers();
    assert.ok(victim);
    const exited = once(victim, 'exit');
    victim.process.kill('SIGKILL');
    await exited;
    assert.equal((await workers.snapshot()).workers, 1, 'only the survivor is merged');
    assert.equal(workers.ready(), false);
    for (let i = 0; i < 100 && !workers.ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const snapshot = await workers.snapshot();
    assert.ok(workers.ready(), 'the replacement serves');
    assert.equal(snapshot.workers, 2);
    assert.deepEqual(urls(snapshot), [A, B, C], 'the replacement started with the current config');
  });
});
