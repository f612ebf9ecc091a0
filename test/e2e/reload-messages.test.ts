/**
 * What a reload says (`gatehouse start -c FILE`, the real process): each reload is logged once with its
 * trigger and what changed; a restart-only setting is reported only while it differs from what the process
 * runs with; a deleted config file is reported once and the running config keeps serving.
 */
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { get, jsonLines, poll, saveAtomically } from '../helpers/e2e-process.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';
import { echoUpstreamPerFile } from '../helpers/e2e-file.ts';

let gw: SpawnedGateway | undefined;
const upstream = echoUpstreamPerFile(() => gw);

interface Shape { port?: number; extraRoute?: boolean; maxBytes?: string }

function configText({ port = 0, extraRoute = false, maxBytes = '1MiB' }: Shape = {}): string {
  return `listen: { host: 127.0.0.1, port: ${port} }
admin: { enabled: false }
upstreams:
  a: { targets: [{ url: "${upstream().url}" }] }
${extraRoute ? `  b: { targets: [{ url: "${upstream().url}" }] }\n` : ''}routes:
  - name: a
    match: { path: /a }
    upstream: a
    policies: [{ type: request-size-limit, maxBytes: ${maxBytes} }]
${extraRoute ? '  - { name: b, match: { path: /b }, upstream: b }\n' : ''}`;
}

async function startWith(shape: Shape = {}): Promise<{ g: SpawnedGateway; file: string }> {
  const file = join(tempDir('gatehouse-reload-messages-'), 'gatehouse.yaml');
  writeFileSync(file, configText(shape));
  gw = await spawnGateway(['start', '-c', file]);
  return { g: gw, file };
}

function logs(g: SpawnedGateway, text: string): Array<Record<string, unknown>> {
  return jsonLines(g.logLines).filter((l) => String(l.msg).includes(text));
}

const reloaded = (g: SpawnedGateway) => logs(g, 'config reloaded');

async function reloads(g: SpawnedGateway, n: number, what: string): Promise<Record<string, unknown>> {
  await poll(async () => reloaded(g).length >= n || undefined, what, 5000);
  assert.equal(reloaded(g).length, n, 'each reload is logged once');
  return reloaded(g)[n - 1]!;
}

describe('reload log lines', () => {
  it('name the trigger and summarize routes, upstreams and policies added, removed or changed', async () => {
    const { g, file } = await startWith();
    saveAtomically(file, configText({ extraRoute: true, maxBytes: '2MiB' }));
    const byFile = await reloads(g, 1, 'a reload after the file changed');
    assert.equal(byFile.trigger, 'file');
    assert.deepEqual(byFile.routes, { added: ['b'], removed: [], changed: [] });
    assert.deepEqual(byFile.upstreams, { added: ['b'], removed: [], changed: [] });
    assert.deepEqual(byFile.policies, { added: [], removed: [], changed: ['a/request-size-limit'] });
    assert.equal(byFile.summary, '1 route added, 1 upstream added, 1 policy changed');

    g.proc.kill('SIGHUP');
    const byHup = await reloads(g, 2, 'a reload after SIGHUP');
    assert.equal(byHup.trigger, 'SIGHUP');
    assert.equal(byHup.summary, 'no changes');

    saveAtomically(file, configText());
    const back = await reloads(g, 3, 'a reload removing route b');
    assert.equal(back.trigger, 'file');
    assert.equal(back.summary, '1 route removed, 1 upstream removed, 1 policy changed');
    assert.equal(logs(g, 'take effect on restart').length, 0);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('warn about a restart-only setting only while it differs from the running value', async () => {
    const { g, file } = await startWith();
    saveAtomically(file, configText({ port: 1 }));
    await reloads(g, 1, 'a reload moving listen.port');
    assert.deepEqual(logs(g, 'take effect on restart').map((l) => [l.key, l.trigger]), [['listen', 'file']]);

    saveAtomically(file, configText({ port: 0 }));
    await reloads(g, 2, 'a reload setting listen.port back');
    assert.equal(logs(g, 'take effect on restart').length, 1, 'the running port needs no restart');
    assert.deepEqual(logs(g, 'back to the running value').map((l) => [l.level, l.key]), [[30, 'listen']]);
    assert.equal(await g.stop('SIGTERM'), 0);
  });

  it('warn once when the config file is deleted, and the running config keeps serving', async () => {
    const { g, file } = await startWith();
    unlinkSync(file);
    await g.waitForLog('config file removed', 5000);
    // A moment for a second warning, or a reload attempt, to show up if one were coming.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(logs(g, 'config file removed').map((l) => [l.level, l.config]), [[40, file]]);
    assert.equal(logs(g, 'reload rejected').length, 0);
    assert.equal((await get(`${g.url}/a`)).status, 200);

    writeFileSync(file, configText({ extraRoute: true }));
    const restored = await reloads(g, 1, 'a reload once the file is back');
    assert.equal(restored.trigger, 'file');
    assert.equal((await get(`${g.url}/b`)).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
  });
});
