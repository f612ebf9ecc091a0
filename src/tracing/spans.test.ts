import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '@opentelemetry/resources';
import { Exchange } from '../pipeline/exchange.ts';
import type { AttemptSpan, TraceRecord, TraceRecorder } from '../pipeline/trace-record.ts';
import { spansOf, type SpanScope } from './spans.ts';

const scope: SpanScope = { resource: { attributes: {} } as unknown as Resource, scope: { name: 'gatehouse' } };
const recorder = {} as TraceRecorder<Exchange>;

function exchange(extra: Partial<ConstructorParameters<typeof Exchange>[0]> = {}): Exchange {
  return new Exchange({
    requestId: 'r1', method: 'POST', path: '/orders/1', query: '?key=secret', headers: {}, clientIp: '10.0.0.9', start: 1000,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736', traceFlags: '01', host: '[::1]', httpVersion: '2.0', forwardedProto: 'https', ...extra,
  });
}

function attempt(extra: Partial<AttemptSpan> = {}): AttemptSpan {
  return { spanId: 'a000000000000001', target: 'https://orders.internal', host: 'orders.internal', path: '/v1/orders/1?key=secret',
    start: 1001, end: 1003.5, status: 201, reason: undefined, errorCode: undefined, ...extra };
}

function record(attempts: AttemptSpan[], parentId?: string): TraceRecord<Exchange> {
  return { recorder, spanId: 'b000000000000001', parentId, localParent: false, attempts };
}

describe('spans', () => {
  it('makes the server span from the exchange, with an IPv6 host, HTTP/2 and https defaults', () => {
    const ex = exchange();
    ex.status = 201;
    const [server] = spansOf({ ex, record: record([]), end: 1010, httpRoute: '/orders/:id' }, scope);
    assert.equal(server!.name, 'POST /orders/:id');
    assert.equal(server!.kind, 1);
    assert.deepEqual(server!.spanContext(), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: 'b000000000000001', traceFlags: 1 });
    assert.equal(server!.parentSpanContext, undefined);
    assert.equal(server!.attributes['server.address'], '[::1]');
    assert.equal(server!.attributes['server.port'], 443);
    assert.equal(server!.attributes['network.protocol.version'], '2');
    assert.equal(server!.attributes['url.path'], '/orders/1');
    assert.equal(server!.status.code, 0);
  });

  it('gives the server span a remote parent when the trace came in with the request', () => {
    const [server] = spansOf({ ex: exchange(), record: record([], '00f067aa0ba902b7'), end: 1010, httpRoute: undefined }, scope);
    assert.deepEqual(server!.parentSpanContext, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    assert.equal(server!.name, 'POST');
  });

  it('marks a 5xx request an error, with its reason as error.type', () => {
    const ex = exchange();
    ex.status = 502;
    ex.reason = 'upstream_connect_failure';
    const [server] = spansOf({ ex, record: record([]), end: 1010, httpRoute: undefined }, scope);
    assert.equal(server!.status.code, 2);
    assert.equal(server!.attributes['error.type'], 'upstream_connect_failure');
  });

  it('makes one client span per attempt, child of the server span, with url.full without the query', () => {
    const spans = spansOf({ ex: exchange(), record: record([attempt(), attempt({ spanId: 'a000000000000002', status: undefined, reason: 'upstream_connect_failure', errorCode: 'ECONNREFUSED', host: 'orders.internal:8443' })]), end: 1010, httpRoute: undefined }, scope);
    assert.equal(spans.length, 3);
    const [, first, second] = spans;
    assert.equal(first!.kind, 2);
    assert.equal(first!.parentSpanContext!.spanId, 'b000000000000001');
    assert.equal(first!.spanContext().spanId, 'a000000000000001');
    assert.equal(first!.attributes['url.full'], 'https://orders.internal/v1/orders/1');
    assert.equal(first!.attributes['server.port'], 443);
    assert.equal(first!.attributes['http.request.resend_count'], undefined);
    assert.equal(first!.status.code, 0);
    assert.equal(second!.attributes['server.port'], 8443);
    assert.equal(second!.attributes['http.request.resend_count'], 1);
    assert.equal(second!.attributes['error.type'], 'upstream_connect_failure');
    assert.equal(second!.attributes['gatehouse.error_code'], 'ECONNREFUSED');
    assert.equal(second!.status.code, 2);
  });

  it('ends an attempt still running at finish with the request', () => {
    const [, client] = spansOf({ ex: exchange(), record: record([attempt({ end: 0 })]), end: 1010, httpRoute: undefined }, scope);
    const ms = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;
    assert.ok(Math.abs(ms(client!.endTime) - ms(client!.startTime) - 9) < 0.001);
    assert.ok(Math.abs(ms(client!.duration) - 9) < 0.001);
  });

  it('puts times on the epoch, in whole nanoseconds below a second', () => {
    const before = Date.now();
    const start = performance.now();
    const [server] = spansOf({ ex: exchange({ start }), record: record([]), end: start + 0.25, httpRoute: undefined }, scope);
    const [seconds, nanos] = server!.startTime;
    assert.ok(Math.abs(seconds * 1000 + nanos / 1e6 - before) < 50);
    assert.ok(Number.isInteger(nanos) && nanos >= 0 && nanos < 1e9);
    assert.deepEqual(server!.duration, [0, 250_000]);
  });
});
