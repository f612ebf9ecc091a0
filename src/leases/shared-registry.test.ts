import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedRegistry } from './shared-registry.ts';

class Resource {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

/** A registry that records what it disposed, in order, and a factory that counts what it made. */
function setup() {
  const disposed: Resource[] = [];
  const made: Resource[] = [];
  const registry = new SharedRegistry<Resource>((r) => {
    disposed.push(r);
  });
  const create = (name = 'r') => () => {
    const r = new Resource(name);
    made.push(r);
    return r;
  };
  return { registry, disposed, made, create };
}

describe('SharedRegistry', () => {
  it('creates a value once per key and hands every holder the same one', () => {
    const { registry, made, create } = setup();
    const first = registry.acquire('jwks:a', create());
    const second = registry.acquire('jwks:a', create());
    assert.equal(made.length, 1);
    assert.equal(first.value, second.value);
    assert.equal(registry.size, 1);
  });

  it('keeps values of different keys apart', () => {
    const { registry, create } = setup();
    const a = registry.acquire('a', create('a'));
    const b = registry.acquire('b', create('b'));
    assert.notEqual(a.value, b.value);
    assert.equal(a.value.name, 'a');
    assert.equal(b.value.name, 'b');
    assert.equal(registry.size, 2);
  });

  it('disposes a value only when its last lease is released, and only once', () => {
    const { registry, disposed, create } = setup();
    const leases = [registry.acquire('k', create()), registry.acquire('k', create()), registry.acquire('k', create())];
    leases[0]!.release();
    leases[1]!.release();
    assert.deepEqual(disposed, []);
    assert.equal(registry.size, 1);
    leases[2]!.release();
    assert.deepEqual(disposed, [leases[2]!.value]);
    assert.equal(registry.size, 0);
  });

  it('ignores a second release of the same lease, so it cannot take a reference another holder owns', () => {
    const { registry, disposed, create } = setup();
    const mine = registry.acquire('k', create());
    const theirs = registry.acquire('k', create());
    mine.release();
    mine.release();
    mine.release();
    assert.deepEqual(disposed, [], 'the other holder still has it');
    assert.equal(registry.size, 1);
    theirs.release();
    assert.deepEqual(disposed, [theirs.value]);
  });

  it('creates a fresh value when a key is acquired again after its last release', () => {
    const { registry, disposed, made, create } = setup();
    const first = registry.acquire('k', create());
    first.release();
    const second = registry.acquire('k', create());
    assert.equal(made.length, 2);
    assert.notEqual(first.value, second.value);
    assert.deepEqual(disposed, [first.value]);
  });

  it('keeps a value alive across a reload that acquires it before the old runtime releases it', () => {
    const { registry, disposed, made, create } = setup();
    const old = registry.acquire('k', create());
    const next = registry.acquire('k', create());
    old.release();
    assert.equal(old.value, next.value);
    assert.deepEqual(disposed, []);
    assert.equal(made.length, 1);
  });

  it('disposes every value once on closeAll, forgets them, and ignores releases of leases taken before', async () => {
    const { registry, disposed, create } = setup();
    const a = registry.acquire('a', create('a'));
    const a2 = registry.acquire('a', create('a'));
    const b = registry.acquire('b', create('b'));
    await registry.closeAll();
    assert.deepEqual(disposed, [a.value, b.value]);
    assert.equal(registry.size, 0);
    a.release();
    a2.release();
    b.release();
    assert.equal(disposed.length, 2, 'no second disposal');
  });

  it('does not let a lease taken before closeAll release a value created under the same key after it', async () => {
    const { registry, disposed, create } = setup();
    const stale = registry.acquire('k', create());
    await registry.closeAll();
    const fresh = registry.acquire('k', create());
    stale.release();
    assert.equal(registry.size, 1);
    assert.deepEqual(disposed, [stale.value]);
    fresh.release();
    assert.deepEqual(disposed, [stale.value, fresh.value]);
  });

  it('disposes synchronously on closeAll, and waits for disposals that return promises', async () => {
    const finished: string[] = [];
    const registry = new SharedRegistry<Resource>(async (r) => {
      await new Promise((resolve) => setImmediate(resolve));
      finished.push(r.name);
    });
    registry.acquire('a', () => new Resource('a'));
    registry.acquire('b', () => new Resource('b'));
    await registry.closeAll();
    assert.deepEqual(finished.sort(), ['a', 'b']);
  });

  it('disposes every value on closeAll even when one disposal throws', async () => {
    const disposed: string[] = [];
    const registry = new SharedRegistry<Resource>((r) => {
      disposed.push(r.name);
      if (r.name === 'a') throw new Error('boom');
    });
    registry.acquire('a', () => new Resource('a'));
    registry.acquire('b', () => new Resource('b'));
    await registry.closeAll();
    assert.deepEqual(disposed, ['a', 'b']);
    assert.equal(registry.size, 0);
  });

  it('holds nothing when the factory throws', () => {
    const { registry, create } = setup();
    assert.throws(() => registry.acquire('k', () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(registry.size, 0);
    assert.equal(registry.acquire('k', create('k')).value.name, 'k');
  });
});
