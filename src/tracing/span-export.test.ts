import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Exchange } from '../pipeline/exchange.ts';
import type { TraceRecorder } from '../pipeline/trace-record.ts';
import { startOtlpReceiver } from '../../test/helpers/otlp-receiver.ts';
import { until } from '../../test/helpers/fake-upstream.ts';
import { MAX_QUEUED, SpanExport, spanExportKey } from './span-export.ts';
import type { FinishedTrace } from './spans.ts';
import { tracingSchema } from './tracing-schema.ts';

process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '1000';

function capturingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

let n = 0;

/** A finished request with one attempt, as tracing receives it at finish. */
function finished(): FinishedTrace {
  const ex = new Exchange({ requestId: `r${++n}`, method: 'GET', path: '/x', query: '', headers: {}, clientIp: '127.0.0.1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  ex.status = 200;
  const start = performance.now();
  const record = { recorder: {} as TraceRecorder<Exchange>, spanId: 'b000000000000001', parentId: undefined, localParent: false, attempts: [
    { spanId: 'a000000000000001', target: 'http://127.0.0.1:1', host: '127.0.0.1:1', path: '/x', start, end: start + 1, status: 200, reason: undefined, errorCode: undefined },
  ] };
  return { ex, record, end: start + 2, httpRoute: undefined };
}

describe('span export', () => {
  it('keys the pipeline by endpoint and service name, not by sample ratio', () => {
    const a = tracingSchema.parse({ enabled: true, sampleRatio: 0.5 });
    const b = tracingSchema.parse({ enabled: true, sampleRatio: 1 });
    const c = tracingSchema.parse({ enabled: true, serviceName: 'other' });
    assert.equal(spanExportKey(a), spanExportKey(b));
    assert.notEqual(spanExportKey(a), spanExportKey(c));
  });

  it('sends the spans of requests finished before the SDK was loaded, and flushes on close', async () => {
    const receiver = await startOtlpReceiver();
    const { log } = capturingLog();
    const spanExport = new SpanExport(tracingSchema.parse({ enabled: true, endpoint: receiver.url }), log);
    try {
      for (let i = 0; i < 5; i++) spanExport.record(finished());
      await spanExport.close();
      assert.equal(receiver.spans.length, 10);
      assert.deepEqual(spanExport.counts, { exported: 10, dropped: 0, failed: 0 });
      // Closed: later spans are dropped and counted, not sent.
      spanExport.record(finished());
      assert.equal(spanExport.counts.dropped, 2);
    } finally {
      await receiver.close();
    }
  });

  it('bounds what waits for a collector that never answers: the rest is dropped, counted and logged once', async () => {
    const receiver = await startOtlpReceiver({ hold: true });
    const { log, lines } = capturingLog();
    const spanExport = new SpanExport(tracingSchema.parse({ enabled: true, endpoint: receiver.url }), log);
    try {
      await spanExport.ready;
      const requests = MAX_QUEUED;
      for (let i = 0; i < requests; i++) spanExport.record(finished());
      // Two spans a request: about half of them fit; the first batch may already be on its way.
      assert.ok(spanExport.counts.dropped >= requests * 2 - MAX_QUEUED - 512, `dropped ${spanExport.counts.dropped}`);
      assert.equal(lines.filter((l) => String(l.msg).includes('queue is full')).length, 1);
      await until(() => receiver.posts > 0, 2000, 'an export to reach the collector');
      await until(() => spanExport.counts.failed > 0, 5000, 'the hung export to time out');
      assert.equal(lines.filter((l) => String(l.msg).includes('could not be exported')).length, 1);
    } finally {
      await receiver.close();
      await spanExport.close();
    }
  });

  it('drops and counts what finishes when the SDK cannot be loaded, with one error logged', async () => {
    const { log, lines } = capturingLog();
    const spanExport = new SpanExport(tracingSchema.parse({ enabled: true }), log, () => Promise.reject(new Error('no such module')));
    await spanExport.ready;
    spanExport.record(finished());
    assert.equal(spanExport.counts.dropped, 2);
    assert.equal(lines.filter((l) => l.level === 50).length, 1);
    await spanExport.close();
  });
});
