import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidr, ipSet, parseCidr } from './ip-set.ts';

describe('ip sets', () => {
  it('parses addresses and CIDR blocks of both families', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseCidr('127.0.0.1'), { address: '127.0.0.1', prefix: 32, family: 'ipv4' });
  });

  it('rejects malformed blocks', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'localhost', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8x', '']) {
      assert.equal(parseCidr(bad), undefined, bad);
      assert.equal(cidr.safeParse(bad).success, false, bad);
    }
  });

  it('matches IPv4 blocks, including IPv4-mapped IPv6 addresses', () => {
    const set = ipSet(['10.0.0.0/8', '192.168.1.7']);
    assert.equal(set.has('10.200.3.4'), true);
    assert.equal(set.has('11.0.0.1'), false);
    assert.equal(set.has('192.168.1.7'), true);
    assert.equal(set.has('192.168.1.8'), false);
    assert.equal(set.has('::ffff:10.1.1.1'), true);
    assert.equal(set.has('::ffff:11.1.1.1'), false);
    assert.equal(set.has('::ffff:a01:101'), true, 'the hex spelling of ::ffff:10.1.1.1');
    assert.equal(set.has('::ffff:b01:101'), false);
    assert.equal(set.has('::10.1.1.1'), false, 'IPv4-compatible, not IPv4-mapped');
  });

  it('matches IPv6 blocks and never matches garbage', () => {
    const set = ipSet(['2001:db8::/32', '::1']);
    assert.equal(set.has('2001:db8:1::5'), true);
    assert.equal(set.has('2001:db9::1'), false);
    assert.equal(set.has('::1'), true);
    assert.equal(set.has('not-an-ip'), false);
    assert.equal(set.has(''), false);
  });

  it('an empty set matches nothing', () => {
    assert.equal(ipSet([]).has('127.0.0.1'), false);
  });
});
