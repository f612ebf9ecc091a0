import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { bind, formatAddress, isEveryInterface, isLoopback, listenError, ListenError } from './listen.ts';

describe('listen addresses', () => {
  it('formats IPv4 as host:port and IPv6 in brackets', () => {
    assert.equal(formatAddress('0.0.0.0', 8484), '0.0.0.0:8484');
    assert.equal(formatAddress('::', 8484), '[::]:8484');
    assert.equal(formatAddress('127.0.0.1', 9901), '127.0.0.1:9901');
  });

  it('counts only 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost as loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'fe80::1', '128.0.0.1']) assert.ok(!isLoopback(host), host);
    assert.ok(isEveryInterface('0.0.0.0') && isEveryInterface('::'));
    assert.ok(!isEveryInterface('10.0.0.5'));
  });
});

describe('bind failures', () => {
  it('names the listener, the address and the cause for the three bind errors an operator fixes', () => {
    const error = (code: string) => Object.assign(new Error(`listen ${code}`), { code });
    const inUse = listenError('admin', '127.0.0.1', 9901, error('EADDRINUSE'))!;
    assert.ok(inUse instanceof ListenError);
    assert.equal(inUse.code, 'GW_ERR_LISTEN');
    assert.equal(inUse.message, 'admin listener cannot bind 127.0.0.1:9901: the port is already in use (EADDRINUSE)');
    assert.equal(inUse.hostProblem, false);
    assert.match(listenError('gateway', '::', 80, error('EACCES'))!.message, /^gateway listener cannot bind \[::\]:80: permission denied \(EACCES/);
    const notMine = listenError('redirect', '10.9.9.9', 80, error('EADDRNOTAVAIL'))!;
    assert.equal(notMine.hostProblem, true, 'the host is what to change');
    assert.equal(listenError('gateway', '0.0.0.0', 1, error('EMFILE')), undefined, 'other errors are not bind failures');
  });

  it('rejects with GW_ERR_LISTEN when the port is taken, and resolves with the address bound otherwise', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as net.AddressInfo;
    const server = net.createServer();
    try {
      await assert.rejects(bind(server, 'gateway', port, '127.0.0.1'), (e: Error) => e instanceof ListenError && e.message.includes(`127.0.0.1:${port}`));
      const bound = await bind(server, 'gateway', 0, '127.0.0.1');
      assert.equal(bound.address, '127.0.0.1');
      assert.ok(bound.port > 0);
    } finally {
      server.close();
      taken.close();
    }
  });
});
