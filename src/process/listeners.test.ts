import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { boundListener } from './instance.ts';
import { logListeners } from './supervisor.ts';

describe('the startup log\'s listeners', () => {
  it('says the address bound, the URL a local client uses, and whether other machines can reach it', () => {
    assert.deepEqual(boundListener('gateway', 'http', '0.0.0.0', 8484),
      { name: 'gateway', address: '0.0.0.0:8484', url: 'http://127.0.0.1:8484', exposed: true, everyInterface: true });
    assert.deepEqual(boundListener('gateway', 'https', '::', 8484),
      { name: 'gateway', address: '[::]:8484', url: 'https://[::1]:8484', exposed: true, everyInterface: true });
    assert.deepEqual(boundListener('admin', 'http', '127.0.0.1', 9901),
      { name: 'admin', address: '127.0.0.1:9901', url: 'http://127.0.0.1:9901', exposed: false, everyInterface: false });
    assert.deepEqual(boundListener('redirect', 'http', '10.0.0.5', 80),
      { name: 'redirect', address: '10.0.0.5:80', url: 'http://10.0.0.5:80', exposed: true, everyInterface: false });
  });

  it('warns once for each listener other machines can reach, and not for loopback ones', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
    const log = pino({ level: 'info' }, sink);
    logListeners(log, [
      boundListener('gateway', 'http', '0.0.0.0', 8484),
      boundListener('admin', 'http', '127.0.0.1', 9901),
      boundListener('redirect', 'http', '10.0.0.5', 80),
    ]);
    assert.deepEqual(lines.map((l) => [l.level, l.listener, l.address, l.exposed, l.msg]), [
      [40, 'gateway', '0.0.0.0:8484', true, 'gateway listener on 0.0.0.0:8484 listens on every interface: other machines can reach it'],
      [40, 'redirect', '10.0.0.5:80', true, 'redirect listener on 10.0.0.5:80 listens on a non-loopback address: other machines can reach it'],
    ]);
  });
});
