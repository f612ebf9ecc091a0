import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieValue } from './cookie.ts';

describe('cookie values', () => {
  it('finds the named cookie among others', () => {
    assert.equal(cookieValue('a=1; session=tok.en.x; b=2', 'session'), 'tok.en.x');
    assert.equal(cookieValue('session=first', 'session'), 'first');
    assert.equal(cookieValue('a=1;session=x', 'session'), 'x');
  });

  it('removes surrounding quotes', () => {
    assert.equal(cookieValue('session="q.u.o"', 'session'), 'q.u.o');
  });

  it('does not match a cookie whose name merely starts or ends with the name', () => {
    assert.equal(cookieValue('mysession=1; sessions=2', 'session'), undefined);
  });

  it('finds nothing when absent, empty or without a header', () => {
    assert.equal(cookieValue(undefined, 'session'), undefined);
    assert.equal(cookieValue('', 'session'), undefined);
    assert.equal(cookieValue('session=', 'session'), undefined);
    assert.equal(cookieValue('session', 'session'), undefined);
    assert.equal(cookieValue('other=1', 'session'), undefined);
  });
});
