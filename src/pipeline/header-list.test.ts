import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeHeader } from './header-list.ts';

describe('removeHeader', () => {
  const list = (): string[] => ['a', '1', 'b', '2', 'a', '3', 'a', '4', 'c', '5', 'b', '6'];

  it('removes every entry of the name, keeping the others in order', () => {
    for (const [name, kept] of [
      ['a', ['b', '2', 'c', '5', 'b', '6']],
      ['b', ['a', '1', 'a', '3', 'a', '4', 'c', '5']],
      ['c', ['a', '1', 'b', '2', 'a', '3', 'a', '4', 'b', '6']],
    ] as const) {
      const flat = list();
      removeHeader(flat, name);
      assert.deepEqual(flat, kept, name);
    }
  });

  it('leaves the list as it was when the name is absent, or matches only a value', () => {
    const flat = list();
    removeHeader(flat, 'z');
    removeHeader(flat, '1');
    assert.deepEqual(flat, list());
  });

  it('empties a list of one name and handles an empty list', () => {
    const flat = ['x', '1', 'x', '2'];
    removeHeader(flat, 'x');
    assert.deepEqual(flat, []);
    removeHeader(flat, 'x');
    assert.deepEqual(flat, []);
  });
});
