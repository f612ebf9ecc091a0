import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Gateway } from '../runtime/gateway.ts';
import { internalRequest } from '../server/internal-responder.ts';
import { until } from '../../test/helpers/fake-upstream.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../../test/helpers/otlp-receiver.ts';
import { testConfig } from '../../test/helpers/start-gateway.ts';
import type { Tracing } from './tracing.ts';

// Long enough that spans arrive within a test only through a flush (a reload's release, a close).
process.env.OTEL_BSP_SCHEDULE_DELAY = '60000';

const silent = pino({ level: 'silent' });

/** Modules an in-process gateway loads while it serves one request, with tracing as given. */
function modulesLoaded(tracing: object): string[] {
  const gatewayUrl = new URL('../runtime/gateway.ts', import.meta.url).href;
  const requestUrl = new URL('../server/internal-responder.ts', import.meta.url).href;
  const helperUrl = new URL('../../test/helpers/start-gateway.ts', import.meta.url).href;
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    const { Gateway } = await import(${JSON.stringify(gatewayUrl)});
    const { internalRequest } = await import(${JSON.stringify(requestUrl)});
    const { testConfig } = await import(${JSON.stringify(helperUrl)});
    const gateway = new Gateway(testConfig({ tracing: ${JSON.stringify(tracing)}, upstreams: {}, routes: [] }));
    const answer = await internalRequest(gateway, { method: 'GET', url: '/nowhere' });
    if (answer.status !== 404) throw new Error('unexpected ' + answer.status);
    await new Promise((r) => setTimeout(r, 100));
    await gateway.close();
    process.stdout.write(JSON.stringify(seen));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '200' },
  });
  return (JSON.parse(out) as string[]).filter((url) => url.includes('@opentelemetry') || url.includes('otel-sdk'));
}

describe('tracing off', () => {
  it('registers no finish hook; enabled, it registers one', async () => {
    const off = new Gateway(testConfig({ upstreams: {}, routes: [] }), silent);
    const on = new Gateway(testConfig({ tracing: { enabled: true, endpoint: 'http://127.0.0.1:9/v1/traces' }, upstreams: {}, routes: [] }), silent);
    try {
      assert.equal(on.finishHooks.size, off.finishHooks.size + 1);
      assert.equal(off.runtime.edge.tracing, undefined);
    } finally {
      await Promise.all([off.close(), on.close()]);
    }
  });

  it('loads nothing of the OpenTelemetry SDK; enabled, it does', () => {
    assert.deepEqual(modulesLoaded({ enabled: false }), []);
    assert.ok(modulesLoaded({ enabled: true, endpoint: 'http://127.0.0.1:9/v1/traces' }).length > 0);
  });
});

describe('tracing across reloads', () => {
  const receivers: OtlpReceiver[] = [];
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('keeps the pipeline for the same endpoint, flushes and closes the old one when it changes, and keeps the finish hook when turned off', async () => {
    const [first, second] = [await startOtlpReceiver(), await startOtlpReceiver()];
    receivers.push(first, second);
    const config = (tracing: object) => testConfig({ tracing, upstreams: {}, routes: [] });
    const gateway = new Gateway(config({ enabled: true, endpoint: first.url }), silent);
    try {
      const hooks = gateway.finishHooks.size;
      const spanExport = () => (gateway.runtime.edge.tracing as Tracing).spanExport;
      const kept = spanExport();
      await internalRequest(gateway, { method: 'GET', url: '/a' });
      gateway.reload(config({ enabled: true, endpoint: first.url, sampleRatio: 0.5 }));
      assert.equal(spanExport(), kept);
      assert.equal(gateway.runtime.edge.tracing!.sampleRatio, 0.5);
      gateway.reload(config({ enabled: true, endpoint: second.url }));
      assert.notEqual(spanExport(), kept);
      // Released by the last runtime that held it: what it had queued is sent before it shuts down.
      await until(() => first.spans.length === 1, 3000, 'the old pipeline to flush');
      assert.equal(first.spans[0]!.attributes['url.path'], '/a');
      await internalRequest(gateway, { method: 'GET', url: '/b' });
      gateway.reload(config({ enabled: false }));
      assert.equal(gateway.runtime.edge.tracing, undefined);
      assert.equal(gateway.finishHooks.size, hooks);
      await until(() => second.spans.length === 1, 3000, 'the second pipeline to flush');
      await internalRequest(gateway, { method: 'GET', url: '/c' });
    } finally {
      await gateway.close();
    }
    assert.equal(first.spans.length + second.spans.length, 2);
  });

  it('records a request the gateway makes for another as a child of that one\'s server span', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const gateway = new Gateway(testConfig({ tracing: { enabled: true, endpoint: receiver.url }, upstreams: {}, routes: [] }), silent);
    try {
      const parent = await internalRequest(gateway, { method: 'GET', url: '/parent' });
      const child = await internalRequest(gateway, { method: 'GET', url: '/child', parent: parent.ex });
      assert.equal(child.ex.traceId, parent.ex.traceId);
      assert.equal(child.ex.trace!.parentId, parent.ex.trace!.spanId);
      assert.equal(child.ex.trace!.localParent, true);
    } finally {
      await gateway.close();
    }
    const byPath = new Map(receiver.spans.map((s) => [s.attributes['url.path'], s]));
    assert.equal(byPath.get('/child')!.parentSpanId, byPath.get('/parent')!.spanId);
    assert.equal(byPath.get('/child')!.traceId, byPath.get('/parent')!.traceId);
  });
});
