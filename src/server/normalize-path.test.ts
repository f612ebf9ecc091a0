import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.ts';

describe('normalizePath', () => {
  it('returns clean paths unchanged', () => {
    for (const p of ['/', '/api', '/api/users/42', '/api/users/', '/a.b/c-d_e~f', '/x/.well-known']) assert.equal(normalizePath(p), p);
  });

  it('collapses runs of slashes', () => {
    assert.equal(normalizePath('//api///users//'), '/api/users/');
  });

  it('decodes unreserved escapes and upper-cases the rest', () => {
    assert.equal(normalizePath('/%61pi/%7euser'), '/api/~user');
    assert.equal(normalizePath('/a%20b/%c3%a9'), '/a%20b/%C3%A9');
  });

  it('refuses dot segments, raw or encoded', () => {
    for (const p of ['/api/../x', '/api/./x', '/api/..', '/%2e%2e/x', '/api/%2E/x', '/api/.%2e/x']) assert.equal(normalizePath(p), undefined, p);
  });

  it('refuses encoded separators, NUL, backslashes, double encoding and bad escapes', () => {
    for (const p of ['/api%2fx', '/api%2Fx', '/a%5cb', '/a\\b', '/a%00', '/a\0b', '/%252e%252e/x', '/a%zz', '/a%2']) assert.equal(normalizePath(p), undefined, p);
  });

  it('refuses paths not in origin form', () => {
    for (const p of ['*', 'http://x/y', 'api']) assert.equal(normalizePath(p), undefined, p);
  });

  it('keeps a literal %25 that is not followed by hex digits', () => {
    assert.equal(normalizePath('/100%25off'), '/100%25off');
  });

  it('refuses escaped bytes that are not UTF-8 and keeps those that are', () => {
    for (const p of ['/x/%C3', '/%FF', '/x/%E2%82', '/%C0%AF']) assert.equal(normalizePath(p), undefined, p);
    assert.equal(normalizePath('/caf%C3%A9'), '/caf%C3%A9');
    assert.equal(normalizePath('/%e2%82%ac'), '/%E2%82%AC');
  });
});
