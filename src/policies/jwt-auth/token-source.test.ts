import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testExchange } from '../../../test/helpers/policy-harness.ts';
import { bearerToken, takeToken } from './token-source.ts';

describe('bearer tokens', () => {
  it('reads the token after the Bearer scheme in any letter case', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.equal(bearerToken(`${scheme} abc.def.ghi`), 'abc.def.ghi', scheme);
  });

  it('tolerates several spaces or tabs around the token', () => {
    assert.equal(bearerToken('Bearer   abc  '), 'abc');
    assert.equal(bearerToken('Bearer\tabc'), 'abc');
  });

  it('finds nothing for other schemes, a missing separator or an empty token', () => {
    for (const value of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearerabc', 'Bearer', 'Bearer ', 'Bearer    ', 'Bearex abc', 'Token abc']) {
      assert.equal(bearerToken(value), undefined, String(value));
    }
  });
});

describe('taking the token from a request', () => {
  const all = { header: true, cookie: 'session', query: 'access_token' };

  it('prefers the header, then the cookie, then the query parameter', () => {
    assert.equal(takeToken(testExchange({ headers: { authorization: 'Bearer h', cookie: 'session=c' }, query: '?access_token=q' }), all), 'h');
    assert.equal(takeToken(testExchange({ headers: { cookie: 'session=c' }, query: '?access_token=q' }), all), 'c');
    assert.equal(takeToken(testExchange({ query: '?access_token=q' }), all), 'q');
    assert.equal(takeToken(testExchange({ headers: { authorization: 'Basic x' }, query: '?access_token=q' }), all), 'q');
  });

  it('removes the query parameter even when another source wins', () => {
    const c = testExchange({ headers: { authorization: 'Bearer h' }, query: '?a=1&access_token=q&b=2' });
    takeToken(c, all);
    assert.equal(c.query, '?a=1&b=2');
  });

  it('ignores the Authorization header when header is off', () => {
    assert.equal(takeToken(testExchange({ headers: { authorization: 'Bearer h' } }), { header: false, cookie: 'session' }), undefined);
  });

  it('ignores sources that are not configured', () => {
    assert.equal(takeToken(testExchange({ headers: { cookie: 'session=c' }, query: '?access_token=q' }), { header: true }), undefined);
  });

  it('treats an empty query parameter as no token but still removes it', () => {
    const c = testExchange({ query: '?access_token=' });
    assert.equal(takeToken(c, all), undefined);
    assert.equal(c.query, '');
  });
});
