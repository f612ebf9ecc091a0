import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redirectLocation } from './https-redirect.ts';

describe('redirectLocation', () => {
  it('keeps the host name, path and query and puts in the HTTPS port', () => {
    assert.equal(redirectLocation('shop.test:8080', '/a/b?c=d&e', 8443), 'https://shop.test:8443/a/b?c=d&e');
    assert.equal(redirectLocation('shop.test', '/', 8443), 'https://shop.test:8443/');
  });

  it('leaves out port 443', () => {
    assert.equal(redirectLocation('shop.test:80', '/x', 443), 'https://shop.test/x');
  });

  it('lower-cases the name and drops a trailing dot', () => {
    assert.equal(redirectLocation('Shop.TEST.', '/x', 443), 'https://shop.test/x');
  });

  it('takes IPv4 and bracketed IPv6 hosts', () => {
    assert.equal(redirectLocation('10.0.0.1:80', '/x', 8443), 'https://10.0.0.1:8443/x');
    assert.equal(redirectLocation('[::1]:80', '/x', 8443), 'https://[::1]:8443/x');
  });

  it('refuses a missing or malformed Host', () => {
    for (const host of [undefined, '', 'a b', 'evil.test/x', 'evil.test@x', 'a..b', '-a.test', 'a.test:', 'a.test:123456', '[::1', `${'a'.repeat(63)}.`.repeat(5)]) {
      assert.equal(redirectLocation(host, '/x', 443), undefined, String(host));
    }
  });

  it('refuses a host name longer than 253 characters that passes the length guard on the Host', () => {
    const label = 'a'.repeat(63);
    // Four 63-character labels: 255 characters (256 with a trailing dot, 260 with a port), within the 260 guard.
    for (const host of [`${label}.${label}.${label}.${label}`, `${label}.${label}.${label}.${label}.`, `${label}.${label}.${label}.${label}:443`]) {
      assert.ok(host.length <= 260, `${host.length} characters: refused by the first guard`);
      assert.equal(redirectLocation(host, '/x', 443), undefined, `${host.length} characters`);
    }
    // The boundary: a 253-character name is taken, with a trailing dot and a port too.
    const longest = `${label}.${label}.${label}.${'b'.repeat(61)}`;
    assert.equal(longest.length, 253);
    assert.equal(redirectLocation(longest, '/x', 443), `https://${longest}/x`);
    assert.equal(redirectLocation(`${longest}.:80`, '/x', 443), `https://${longest}/x`);
  });

  it('refuses a request target that is not a path', () => {
    for (const target of [undefined, '*', 'http://evil.test/x', '']) assert.equal(redirectLocation('a.test', target, 443), undefined, String(target));
  });
});
