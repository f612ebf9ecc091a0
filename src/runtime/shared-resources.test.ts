import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedResources } from './shared-resources.ts';

class Resource {
  closed = 0;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  close(): void {
    this.closed++;
  }
}

/** A factory that counts how often it ran and remembers what it made. */
function factory(name: string) {
  const made: Resource[] = [];
  return {
    made,
    create: () => {
      const r = new Resource(name);
      made.push(r);
      return r;
    },
  };
}

describe('SharedResources', () => {
  it('creates a resource once per key and hands every holder the same one', () => {
    const shared = new SharedResources();
    const f = factory('jwks-a');
    const first = shared.acquire('jwks:a', f.create);
    const second = shared.acquire('jwks:a', f.create);
    assert.equal(f.made.length, 1);
    assert.equal(first, second);
    assert.equal(shared.size, 1);
  });

  it('keeps resources of different keys apart', () => {
    const shared = new SharedResources();
    const a = shared.acquire('a', () => new Resource('a'));
    const b = shared.acquire('b', () => new Resource('b'));
    assert.notEqual(a, b);
    assert.equal(a.name, 'a');
    assert.equal(b.name, 'b');
    assert.equal(shared.size, 2);
  });

  it('closes a resource only when its last holder releases it', () => {
    const shared = new SharedResources();
    const r = shared.acquire('k', () => new Resource('k'));
    shared.acquire('k', () => new Resource('unused'));
    shared.acquire('k', () => new Resource('unused'));
    shared.release('k');
    shared.release('k');
    assert.equal(r.closed, 0);
    assert.equal(shared.size, 1);
    shared.release('k');
    assert.equal(r.closed, 1);
    assert.equal(shared.size, 0);
  });

  it('creates a fresh resource when a key is acquired again after its last release', () => {
    const shared = new SharedResources();
    const f = factory('k');
    const first = shared.acquire('k', f.create);
    shared.release('k');
    const second = shared.acquire('k', f.create);
    assert.equal(f.made.length, 2);
    assert.notEqual(first, second);
    assert.equal(first.closed, 1);
    assert.equal(second.closed, 0);
  });

  it('keeps a resource alive across a reload that acquires it before the old runtime releases it', () => {
    const shared = new SharedResources();
    const f = factory('k');
    const old = shared.acquire('k', f.create);
    const next = shared.acquire('k', f.create);
    shared.release('k');
    assert.equal(old, next);
    assert.equal(old.closed, 0);
    assert.equal(f.made.length, 1);
  });

  it('treats the release of an unknown key, or one released too often, as harmless', () => {
    const shared = new SharedResources();
    assert.doesNotThrow(() => shared.release('never-acquired'));
    const r = shared.acquire('k', () => new Resource('k'));
    shared.release('k');
    assert.doesNotThrow(() => shared.release('k'));
    assert.equal(r.closed, 1);
    assert.equal(shared.size, 0);
  });

  it('closes every resource once on closeAll and forgets them', () => {
    const shared = new SharedResources();
    const a = shared.acquire('a', () => new Resource('a'));
    shared.acquire('a', () => new Resource('unused'));
    const b = shared.acquire('b', () => new Resource('b'));
    shared.closeAll();
    assert.equal(a.closed, 1);
    assert.equal(b.closed, 1);
    assert.equal(shared.size, 0);
    shared.release('a');
    assert.equal(a.closed, 1, 'a release after closeAll does not close again');
  });

  it('holds nothing when the factory throws', () => {
    const shared = new SharedResources();
    assert.throws(() => shared.acquire('k', () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(shared.size, 0);
    const r = shared.acquire('k', () => new Resource('k'));
    assert.equal(r.name, 'k');
  });
});
