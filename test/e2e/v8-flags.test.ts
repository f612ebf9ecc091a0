/**
 * Serving commands run with Gatehouse's V8 flags (src/process/v8-flags.ts) in the same process the caller
 * started: the PID a supervisor holds is the one serving. GATEHOUSE_V8_FLAGS=off keeps V8's defaults.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVING_FLAGS } from '../../src/process/v8-flags.ts';
import { startUpstream, echo, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { mainScript, spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('V8 flags for serving', () => {
  const started: SpawnedGateway[] = [];
  let upstream: FakeUpstream;
  after(async () => {
    for (const g of started) await g.stop();
    await upstream?.close();
  });

  async function configFile(): Promise<string> {
    upstream ??= await startUpstream(echo('u'));
    const file = join(tempDir(), 'gatehouse.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: 0 }\nadmin: { enabled: false }\nlog: { access: { enabled: false } }\n`
      + `upstreams: { u: { targets: [{ url: "${upstream.url}" }] } }\nroutes: [{ name: r, match: { path: / }, upstream: u }]\n`);
    return file;
  }

  it('serves from the PID it was started as, with the flags on its command line', async () => {
    const g = await spawnGateway(['start', '-c', await configFile()]);
    started.push(g);
    const args = cmdline(g.proc.pid!);
    for (const flag of SERVING_FLAGS) assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
    assert.ok(args.includes(mainScript) && args.includes('start'), 'the same program and command');
    const res = await fetch(`${g.url}/x`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-upstream'), 'u');
  });

  it('keeps V8 defaults with GATEHOUSE_V8_FLAGS=off', async () => {
    const file = await configFile();
    const prev = process.env.GATEHOUSE_V8_FLAGS;
    process.env.GATEHOUSE_V8_FLAGS = 'off';
    try {
      const g = await spawnGateway(['start', '-c', file]);
      started.push(g);
      assert.ok(!cmdline(g.proc.pid!).some((a) => a.startsWith('--max-semi-space-size')));
    } finally {
      if (prev === undefined) delete process.env.GATEHOUSE_V8_FLAGS; else process.env.GATEHOUSE_V8_FLAGS = prev;
    }
  });
});
