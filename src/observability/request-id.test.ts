import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSampled, newRequestId, requestIdFrom, traceFrom } from './request-id.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('request IDs', () => {
  it('keeps a sane incoming ID', () => {
    assert.equal(requestIdFrom('abc-123_X.y:z'), 'abc-123_X.y:z');
  });

  it('replaces missing, repeated, too long or unsafe IDs with a UUID', () => {
    for (const bad of [undefined, '', 'a'.repeat(129), 'has space', 'new\nline', '<script>', ['a', 'b']]) {
      const id = requestIdFrom(bad);
      assert.match(id, /^[0-9a-f-]{36}$/, String(bad));
    }
  });

  it('generates version 4 UUIDs, each its own string, all different', () => {
    const ids = Array.from({ length: 5000 }, () => newRequestId());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    // Every hex digit position varies (none left at the template's zero).
    for (const at of [0, 9, 15, 20, 35]) assert.ok(new Set(ids.map((id) => id[at])).size > 8, `position ${at}`);
  });
});

describe('trace context', () => {
  it('keeps the trace ID and flags of a valid traceparent with a new parent span ID', () => {
    const t = traceFrom(VALID);
    assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(t.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(t.spanId, '00f067aa0ba902b7');
    assert.equal(t.traceparent.split('-')[2], t.spanId);
  });

  it('starts a new trace for invalid traceparents', () => {
    for (const bad of [undefined, 'junk', VALID.toUpperCase(), `ff${VALID.slice(2)}`, `${VALID}-extra`,
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01']) {
      const t = traceFrom(bad);
      assert.notEqual(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', String(bad));
      assert.match(t.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });

  it('accepts a future version with trailing fields', () => {
    assert.equal(traceFrom(`01${VALID.slice(2)}-future`).traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('starts new traces with distinct IDs that are the parts of their traceparent', () => {
    const traces = Array.from({ length: 1000 }, () => traceFrom(undefined));
    for (const t of traces) assert.equal(t.traceparent, `00-${t.traceId}-${t.spanId}-01`);
    assert.equal(new Set(traces.map((t) => t.traceId)).size, 1000);
    assert.equal(new Set(traces.map((t) => t.spanId)).size, 1000);
    // Hex of random bytes: every digit shows up (a broken nibble table would leave some out).
    assert.equal(new Set(traces.map((t) => t.traceId).join('')).size, 16);
  });

  it('generates distinct span IDs', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => traceFrom(VALID).spanId));
    assert.equal(ids.size, 1000);
  });

  it('flags the traces it starts sampled at the ratio tracing asks for, and says so in the traceparent', () => {
    const none = Array.from({ length: 200 }, () => traceFrom(undefined, 0));
    assert.ok(none.every((t) => t.traceFlags === '00' && t.traceparent === `00-${t.traceId}-${t.spanId}-00`));
    const all = Array.from({ length: 200 }, () => traceFrom(undefined, 1));
    assert.ok(all.every((t) => t.traceFlags === '01' && t.traceparent.endsWith('-01')));
    const half = Array.from({ length: 4000 }, () => traceFrom(undefined, 0.5)).filter((t) => t.traceparent.endsWith('-01')).length;
    // 2000 expected, standard deviation ~32: this bound is over 9 deviations away.
    assert.ok(half > 1700 && half < 2300, String(half));
  });

  it('keeps an incoming trace\'s flags whatever the ratio, and returns its parent span ID', () => {
    const kept = traceFrom(VALID, 0);
    assert.equal(kept.traceFlags, '01');
    assert.equal(kept.parentId, '00f067aa0ba902b7');
    assert.equal(traceFrom(`${VALID.slice(0, -2)}00`, 1).traceFlags, '00');
    assert.equal(traceFrom(undefined).parentId, undefined);
  });

  it('reads the sampled bit of trace flags', () => {
    assert.deepEqual(['00', '01', '02', '03', 'ff', '0a', '0b'].map(isSampled), [false, true, false, true, true, false, true]);
  });
});
