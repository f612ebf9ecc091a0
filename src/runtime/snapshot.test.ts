import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeSnapshots, type GatewaySnapshot, type TargetSnapshot } from './snapshot.ts';

function target(url: string, fields: Partial<TargetSnapshot> = {}): TargetSnapshot {
  return { upstream: 'u', url, inFlight: 0, available: true, healthy: true, breaker: 'closed', attempts: 0, failures: 0, latencyEwmaMs: null, ...fields };
}

function snapshot(fields: Partial<GatewaySnapshot> = {}): GatewaySnapshot {
  return { workers: 1, requests: 0, inFlight: 0, statusClasses: {}, reasons: {}, targets: [], ...fields };
}

/** Freezes a snapshot and everything in it, so a merge that writes into its inputs throws. */
function frozen(s: GatewaySnapshot): GatewaySnapshot {
  for (const t of s.targets) Object.freeze(t);
  Object.freeze(s.targets);
  Object.freeze(s.statusClasses);
  Object.freeze(s.reasons);
  return Object.freeze(s);
}

describe('mergeSnapshots', () => {
  it('gives the empty snapshot of no workers for no parts', () => {
    assert.deepEqual(mergeSnapshots([]), { workers: 0, requests: 0, inFlight: 0, statusClasses: {}, reasons: {}, targets: [] });
  });

  it('returns one worker\'s snapshot unchanged in shape and values', () => {
    const one = snapshot({
      requests: 7, inFlight: 2, statusClasses: { '2xx': 6, '5xx': 1 }, reasons: { no_healthy_upstream: 1 },
      targets: [target('http://a', { inFlight: 2, attempts: 6, failures: 1, latencyEwmaMs: 12.5 })],
    });
    assert.deepEqual(mergeSnapshots([one]), one);
  });

  it('sums workers, requests and in-flight counts', () => {
    const merged = mergeSnapshots([snapshot({ requests: 15, inFlight: 1 }), snapshot({ requests: 25, inFlight: 3 }), snapshot({ requests: 0 })]);
    assert.equal(merged.workers, 3);
    assert.equal(merged.requests, 40);
    assert.equal(merged.inFlight, 4);
  });

  it('sums status classes and reasons key by key, keeping keys only one worker has', () => {
    const merged = mergeSnapshots([
      snapshot({ statusClasses: { '2xx': 10, '4xx': 2 }, reasons: { route_not_found: 2 } }),
      snapshot({ statusClasses: { '2xx': 5, '5xx': 1 }, reasons: { route_not_found: 1, upstream_connect_failure: 1 } }),
    ]);
    assert.deepEqual(merged.statusClasses, { '2xx': 15, '4xx': 2, '5xx': 1 });
    assert.deepEqual(merged.reasons, { route_not_found: 3, upstream_connect_failure: 1 });
  });

  it('lists a target every worker reports once, with its counts summed', () => {
    const merged = mergeSnapshots([
      snapshot({ targets: [target('http://a', { inFlight: 1, attempts: 10, failures: 1 }), target('http://b', { attempts: 4 })] }),
      snapshot({ targets: [target('http://a', { inFlight: 2, attempts: 20, failures: 3 }), target('http://b', { attempts: 6, failures: 6 })] }),
    ]);
    assert.deepEqual(merged.targets, [
      target('http://a', { inFlight: 3, attempts: 30, failures: 4 }),
      target('http://b', { attempts: 10, failures: 6 }),
    ]);
  });

  it('keeps the same URL in two upstreams apart', () => {
    const merged = mergeSnapshots([
      snapshot({ targets: [target('http://a', { attempts: 1 }), target('http://a', { upstream: 'v', attempts: 2 })] }),
      snapshot({ targets: [target('http://a', { upstream: 'v', attempts: 3 })] }),
    ]);
    assert.deepEqual(merged.targets.map((t) => [t.upstream, t.url, t.attempts]), [['u', 'http://a', 1], ['v', 'http://a', 5]]);
  });

  it('lists a target only some workers report (a reload half seen by the last snapshots)', () => {
    const merged = mergeSnapshots([snapshot({ targets: [target('http://a')] }), snapshot({ targets: [target('http://a'), target('http://new')] })]);
    assert.deepEqual(merged.targets.map((t) => t.url), ['http://a', 'http://new']);
  });

  it('reports a target available while any worker may send it traffic, unavailable when none may', () => {
    const merged = mergeSnapshots([
      snapshot({ targets: [target('http://a', { available: false }), target('http://b', { available: false })] }),
      snapshot({ targets: [target('http://a', { available: true }), target('http://b', { available: false })] }),
    ]);
    assert.deepEqual(merged.targets.map((t) => [t.url, t.available]), [['http://a', true], ['http://b', false]]);
  });

  it('weights the latency EWMA by attempts, counting a worker with an EWMA at least once', () => {
    const merged = mergeSnapshots([
      snapshot({ targets: [target('http://a', { attempts: 1, latencyEwmaMs: 10 }), target('http://b', { attempts: 0, latencyEwmaMs: 30 })] }),
      snapshot({ targets: [target('http://a', { attempts: 3, latencyEwmaMs: 40 }), target('http://b', { attempts: 1, latencyEwmaMs: 10 })] }),
    ]);
    assert.equal(merged.targets[0]!.latencyEwmaMs, (10 * 1 + 40 * 3) / 4);
    assert.equal(merged.targets[1]!.latencyEwmaMs, (30 + 10) / 2);
  });

  it('ignores workers without an EWMA for a target, and gives null when none has one', () => {
    const merged = mergeSnapshots([
      snapshot({ targets: [target('http://a', { latencyEwmaMs: null }), target('http://b')] }),
      snapshot({ targets: [target('http://a', { attempts: 2, latencyEwmaMs: 8 }), target('http://b')] }),
    ]);
    assert.equal(merged.targets[0]!.latencyEwmaMs, 8);
    assert.equal(merged.targets[1]!.latencyEwmaMs, null);
  });

  it('leaves its inputs as they were', () => {
    const parts = [
      frozen(snapshot({ requests: 1, statusClasses: { '2xx': 1 }, reasons: { r: 1 }, targets: [target('http://a', { attempts: 1, latencyEwmaMs: 5 })] })),
      frozen(snapshot({ requests: 2, statusClasses: { '2xx': 2 }, reasons: { r: 2 }, targets: [target('http://a', { attempts: 2, latencyEwmaMs: 5 })] })),
    ];
    const copies = structuredClone(parts);
    mergeSnapshots(parts);
    assert.deepEqual(parts, copies);
  });
});
