import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSpace } from './whitespace.ts';

describe('isSpace', () => {
  it('is true for space and horizontal tab', () => {
    assert.equal(isSpace(' '.charCodeAt(0)), true);
    assert.equal(isSpace('\t'.charCodeAt(0)), true);
  });

  it('is false for line breaks, other Unicode spaces, letters and past the end of a string', () => {
    for (const c of ['\r', '\n', '\v', '\f', '\u00a0', '\u2003', '\ufeff', 'a', '=', ';']) assert.equal(isSpace(c.charCodeAt(0)), false, JSON.stringify(c));
    assert.equal(isSpace(''.charCodeAt(0)), false, 'NaN');
  });
});
