import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostName, isHost } from './host.ts';

const label = 'a'.repeat(63);
// Three 63-character labels and a 61-character one: the longest name, 253 characters.
const longest = `${label}.${label}.${label}.${'b'.repeat(61)}`;

describe('isHost', () => {
  it('takes host names in any letter case, with underscores, a trailing dot or a port', () => {
    for (const host of ['a', 'localhost', 'api.example.com', 'API.Example.COM', 'svc_1.internal', 'x-1.y-2.test', 'shop.test.', 'shop.test:8080', 'shop.test.:1', 'a.test:65535']) {
      assert.equal(isHost(host), true, host);
    }
  });

  it('takes IPv4 addresses with or without a port', () => {
    for (const host of ['10.0.0.1', '10.0.0.1:80', '255.255.255.255:443']) assert.equal(isHost(host), true, host);
  });

  it('takes bracketed IPv6 literals in every RFC 3986 form, with or without a port', () => {
    const literals = ['::', '::1', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', 'fe80::1:2', '::ffff:10.0.0.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:1.2.3.4'];
    for (const literal of literals) {
      assert.equal(isHost(`[${literal}]`), true, literal);
      assert.equal(isHost(`[${literal}]:8080`), true, `${literal} with a port`);
    }
  });

  it('refuses malformed IPv6 literals, zone IDs and unbracketed IPv6', () => {
    const bad = ['[]', '[:]', '[:::]', '[1::2::3]', '[12345::1]', '[1:2:3:4:5:6:7:8:9]', '[1:2:3:4:5:6:7]', '[::1', '::1]', '[::1]]', '[g::1]', '[::1.2.3]', '[::256.0.0.1]',
      '[1:2:3:4:5:6:7:1.2.3.4]', '[fe80::1%25eth0]', '[v1.x]', '[.]', '::1', '2001:db8::1', '[::1]:', '[::1]x'];
    for (const host of bad) assert.equal(isHost(host), false, host);
  });

  it('refuses characters outside a host: spaces, paths, user info, CR/LF, percent-encoding', () => {
    for (const host of ['a b', 'evil.test/x', 'evil.test@x', 'user@evil.test', 'a.test\r\nx-injected: 1', 'a.test?x', 'a.test#x', 'a%2eb', 'a,b', '*.test', 'é.test']) {
      assert.equal(isHost(host), false, JSON.stringify(host));
    }
  });

  it('refuses empty labels, labels that start or end with "-", and a lone dot', () => {
    for (const host of ['a..b', '.a', '.', '..', '-a.test', 'a-.test', 'a.-b']) assert.equal(isHost(host), false, host);
  });

  it('refuses an empty value', () => {
    assert.equal(isHost(''), false);
  });

  it('refuses an empty, non-numeric, six-digit or out-of-range port', () => {
    for (const host of ['a.test:', 'a.test:x', 'a.test:123456', 'a.test:65536', 'a.test:99999', 'a.test:80:80', '10.0.0.1:', '[::1]:65536']) assert.equal(isHost(host), false, host);
  });

  it('takes a 253-character name (with a trailing dot and a port too) and refuses longer ones', () => {
    assert.equal(longest.length, 253);
    assert.equal(isHost(longest), true);
    assert.equal(isHost(`${longest}.`), true);
    assert.equal(isHost(`${longest}.:65535`), true, 'the longest value: 260 characters');
    const tooLong = `${label}.${label}.${label}.${label}`;
    for (const host of [`${longest}b`, tooLong, `${tooLong}.`, `${tooLong}:443`, `${longest}.:655350`, `${label}.`.repeat(5), 'a'.repeat(100_000)]) {
      assert.equal(isHost(host), false, `${host.length} characters`);
    }
  });
});

describe('hostName', () => {
  it('drops the port and a trailing dot and lower-cases the name', () => {
    assert.equal(hostName('Shop.TEST.:8080'), 'shop.test');
    assert.equal(hostName('shop.test'), 'shop.test');
    assert.equal(hostName('10.0.0.1:80'), '10.0.0.1');
    assert.equal(hostName(`${longest}.:1`), longest);
  });

  it('keeps the brackets of an IPv6 literal, as a URL needs them', () => {
    assert.equal(hostName('[2001:DB8::1]:8443'), '[2001:db8::1]');
    assert.equal(hostName('[::1]'), '[::1]');
  });
});
