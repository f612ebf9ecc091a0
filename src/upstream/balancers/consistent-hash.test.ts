import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consistentHash } from './consistent-hash.ts';

interface TestTarget { id: string; weight: number; inFlight: number; available: boolean }

function targets(...ids: string[]): TestTarget[] {
  return ids.map((id) => ({ id, weight: 1, inFlight: 0, available: true }));
}

describe('consistent-hash', () => {
  it('sends the same key to the same target on every pick and after a rebuild', () => {
    const balancer = consistentHash(targets('a', 'b', 'c'));
    const rebuilt = consistentHash(targets('c', 'b', 'a'));
    for (let n = 0; n < 100; n++) {
      const key = `session-${n}`;
      const first = balancer.pick(key)?.id;
      assert.equal(balancer.pick(key)?.id, first);
      assert.equal(rebuilt.pick(key)?.id, first);
    }
  });

  it('spreads different keys over all the targets', () => {
    const balancer = consistentHash(targets('a', 'b', 'c'));
    const seen = new Set(Array.from({ length: 300 }, (_, n) => balancer.pick(`session-${n}`)?.id));
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  });

  it('round-robins requests with no key over the available targets', () => {
    const pool = targets('a', 'b', 'c');
    const balancer = consistentHash(pool);
    assert.deepEqual(Array.from({ length: 6 }, () => balancer.pick()?.id), ['a', 'b', 'c', 'a', 'b', 'c']);
    pool[0]!.available = false;
    assert.deepEqual(Array.from({ length: 4 }, () => balancer.pick()?.id), ['b', 'c', 'b', 'c']);
  });

  it('treats an empty key as no key rather than piling those requests onto one target', () => {
    const balancer = consistentHash(targets('a', 'b'));
    assert.deepEqual([balancer.pick(''), balancer.pick(''), balancer.pick('')].map((target) => target?.id), ['a', 'b', 'a']);
  });

  it('moves only the keys of an unavailable target, and moves them back when it returns', () => {
    const pool = targets('a', 'b', 'c', 'd');
    const balancer = consistentHash(pool);
    const keys = Array.from({ length: 400 }, (_, n) => `session-${n}`);
    const before = keys.map((key) => balancer.pick(key)?.id);
    pool[1]!.available = false;
    const during = keys.map((key) => balancer.pick(key)?.id);
    keys.forEach((key, n) => {
      if (before[n] === 'b') assert.notEqual(during[n], 'b', key);
      else assert.equal(during[n], before[n], key);
    });
    pool[1]!.available = true;
    assert.deepEqual(keys.map((key) => balancer.pick(key)?.id), before);
  });

  it('returns undefined, with or without a key, when no target is available', () => {
    const pool = targets('a', 'b');
    for (const target of pool) target.available = false;
    const balancer = consistentHash(pool);
    assert.equal(balancer.pick('session-1'), undefined);
    assert.equal(balancer.pick(), undefined);
    assert.equal(consistentHash([]).pick('session-1'), undefined);
  });
});
