import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedResources } from './shared-resources.ts';

class Resource {
  closed = 0;
  close(): void {
    this.closed++;
  }
}

describe('SharedResources', () => {
  it('closes a resource once, when the last lease on it is released', () => {
    const shared = new SharedResources();
    const first = shared.acquire('jwks:a', () => new Resource());
    const second = shared.acquire('jwks:a', () => new Resource());
    assert.equal(first.value, second.value);
    first.release();
    assert.equal(first.value.closed, 0);
    second.release();
    second.release();
    assert.equal(first.value.closed, 1);
    assert.equal(shared.size, 0);
  });

  it('closes every resource once on closeAll', async () => {
    const shared = new SharedResources();
    const a = shared.acquire('a', () => new Resource());
    const b = shared.acquire('b', () => new Resource());
    await shared.closeAll();
    a.release();
    assert.deepEqual([a.value.closed, b.value.closed], [1, 1]);
  });
});
