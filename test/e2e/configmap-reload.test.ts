/**
 * A Kubernetes ConfigMap volume updates the way the kubelet's atomic writer does it: the files live in a
 * timestamped directory, `..data` is a symlink to it, and `gatehouse.yaml` is a symlink to
 * `..data/gatehouse.yaml`. An update writes a new timestamped directory, points a new symlink at it, renames
 * that over `..data` (one atomic step) and removes the old directory. The path the gateway was given never
 * changes, and neither does the symlink at it: only a link one level away does.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { get, poll } from '../helpers/e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const configText = (upstreamUrl: string, path: string) => `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
log: { access: { enabled: false } }
upstreams: { app: { targets: [{ url: "${upstreamUrl}" }] } }
routes: [{ name: app, match: { path: ${path} }, upstream: app }]
`;

/** Writes `text` as the kubelet does: a new timestamped directory, then `..data` swapped to it by rename. */
function kubeletUpdate(volume: string, version: string, text: string, previous?: string): void {
  mkdirSync(join(volume, version));
  writeFileSync(join(volume, version, 'gatehouse.yaml'), text);
  symlinkSync(version, join(volume, '..data_tmp'));
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  if (previous) rmSync(join(volume, previous), { recursive: true });
}

describe('a config mounted from a Kubernetes ConfigMap', () => {
  let upstream: FakeUpstream | undefined;
  let gateway: SpawnedGateway | undefined;
  after(async () => {
    await gateway?.stop('SIGKILL');
    await upstream?.close();
  });

  it('is reloaded when the kubelet swaps the ..data symlink', async () => {
    upstream = await startUpstream(echo('app'));
    const volume = tempDir('gatehouse-configmap-');
    kubeletUpdate(volume, '..2026_12_03_10_00_00.000000001', configText(upstream.url, '/v1'));
    symlinkSync(join('..data', 'gatehouse.yaml'), join(volume, 'gatehouse.yaml'));
    gateway = await spawnGateway(['start', '-c', join(volume, 'gatehouse.yaml')]);
    assert.equal((await get(`${gateway.url}/v1`)).status, 200);
    assert.equal((await get(`${gateway.url}/v2`)).status, 404);

    kubeletUpdate(volume, '..2026_12_03_10_01_00.000000002', configText(upstream.url, '/v2'));
    await poll(async () => ((await get(`${gateway!.url}/v2`)).status === 200 ? true : undefined), 'the swapped config to serve /v2', 10_000, 50);
    assert.equal((await get(`${gateway.url}/v1`)).status, 404, 'the old config no longer serves');

    // A second swap, the previous directory then removed as the kubelet does: the watch survives the first.
    kubeletUpdate(volume, '..2026_12_03_10_02_00.000000003', configText(upstream.url, '/v3'), '..2026_12_03_10_01_00.000000002');
    await poll(async () => ((await get(`${gateway!.url}/v3`)).status === 200 ? true : undefined), 'the second swap to serve /v3', 10_000, 50);
  });
});
