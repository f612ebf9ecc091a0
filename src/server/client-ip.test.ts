import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { ipSet } from '../net/ip-set.ts';
import { clientFromChain, peerAddress, proxyFacts } from './client-ip.ts';

const none = ipSet([]);
const proxies = ipSet(['10.0.0.0/8', '2001:db8::/32']);

const spoofed: IncomingHttpHeaders = {
  'x-forwarded-for': '1.2.3.4',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.test',
};

describe('peer address', () => {
  it('strips the IPv4-mapped prefix and turns a missing address into ""', () => {
    assert.equal(peerAddress('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(peerAddress('203.0.113.9'), '203.0.113.9');
    assert.equal(peerAddress('2001:db8::1'), '2001:db8::1');
    assert.equal(peerAddress(undefined), '');
    assert.equal(peerAddress(''), '');
  });
});

describe('proxy facts from a peer that is not a trusted proxy', () => {
  it('are none, whatever X-Forwarded-For/Proto/Host it sends (the server stage then uses the peer: server-stage.test.ts)', () => {
    assert.equal(proxyFacts('203.0.113.9', spoofed, 'http', none), undefined);
    assert.equal(proxyFacts('203.0.113.9', spoofed, 'http', proxies), undefined);
  });
});

describe('proxy facts from a trusted proxy', () => {
  const facts = (headers: IncomingHttpHeaders, proto = 'http', peer = '10.0.0.1') => proxyFacts(peer, headers, proto, proxies)!;
  const clientOf = (chain: string) => facts({ 'x-forwarded-for': chain }).clientIp;

  it('takes the first untrusted address walking X-Forwarded-For from the right', () => {
    assert.equal(clientOf('198.51.100.7, 203.0.113.9, 10.0.0.5, 10.1.2.3'), '203.0.113.9');
  });

  it('uses the rightmost address when it is already untrusted', () => {
    assert.equal(clientOf('198.51.100.7, 203.0.113.9'), '203.0.113.9');
  });

  it('takes the leftmost address when every hop is trusted', () => {
    assert.equal(clientOf('10.9.9.9, 10.0.0.5, 10.1.2.3'), '10.9.9.9');
  });

  it('stops at a malformed entry and uses the hop to its right', () => {
    assert.equal(clientOf('198.51.100.7, not-an-ip, 10.0.0.5'), '10.0.0.5');
  });

  it('falls back to the peer when the rightmost entry is malformed', () => {
    for (const chain of ['198.51.100.7, 203.0.113.9:5555', '198.51.100.7, ', 'unknown']) assert.equal(clientOf(chain), '10.0.0.1', chain);
  });

  it('walks IPv6 hops and IPv4-mapped hops', () => {
    assert.equal(facts({ 'x-forwarded-for': '2001:db9::5, 2001:db8::7' }, 'http', '2001:db8::1').clientIp, '2001:db9::5');
    assert.equal(clientOf('::ffff:203.0.113.9, ::ffff:10.0.0.5'), '203.0.113.9');
  });

  it('forwards the received chain with the peer appended', () => {
    assert.equal(facts({ 'x-forwarded-for': '198.51.100.7, 203.0.113.9' }).forwardedFor, '198.51.100.7, 203.0.113.9, 10.0.0.1');
  });

  it('uses the peer as client and chain when the proxy sent no X-Forwarded-For', () => {
    assert.deepEqual(facts({}), {
      clientIp: '10.0.0.1', forwardedFor: '10.0.0.1', forwardedProto: 'http', forwardedHost: undefined,
    });
  });

  it('keeps X-Forwarded-Proto only when it is http or https (any case)', () => {
    const proto = (value: string, listener = 'http') => facts({ 'x-forwarded-proto': value }, listener).forwardedProto;
    assert.equal(proto('https'), 'https');
    assert.equal(proto('HTTPS'), 'https');
    assert.equal(proto('http', 'https'), 'http');
    assert.equal(proto('ftp'), 'http');
    assert.equal(proto('javascript'), 'http');
    assert.equal(proto('https, http'), 'http');
    assert.equal(proto('gopher', 'https'), 'https');
  });

  it('says the listener\'s protocol when the proxy sent no X-Forwarded-Proto', () => {
    assert.equal(facts({}, 'https').forwardedProto, 'https');
  });

  it('keeps X-Forwarded-Host only when it looks like a host', () => {
    const host = (value: string) => facts({ 'x-forwarded-host': value }).forwardedHost;
    assert.equal(host('api.example.com'), 'api.example.com');
    assert.equal(host('api.example.com:8443'), 'api.example.com:8443');
    assert.equal(host('[2001:db8::1]:8080'), '[2001:db8::1]:8080');
    assert.equal(host('evil.test/path'), undefined);
    assert.equal(host('a b'), undefined);
    assert.equal(host('a.test\r\nx-injected: 1'), undefined);
    assert.equal(host('user@evil.test'), undefined);
    assert.equal(host(''), undefined);
  });
});

describe('client from chain', () => {
  it('returns the peer for an empty chain entry list and the first untrusted hop otherwise', () => {
    assert.equal(clientFromChain('', '10.0.0.1', proxies), '10.0.0.1');
    assert.equal(clientFromChain(' 203.0.113.9 ,10.0.0.2', '10.0.0.1', proxies), '203.0.113.9');
  });
});
