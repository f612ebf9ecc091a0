import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { ipSet } from '../net/ip-set.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { checkRequestTarget, newExchange } from './server-stage.ts';

const edge = { identity: { names: new Set<string>() }, trustedProxies: ipSet([]), dropped: new Set<string>() } as unknown as EdgeSettings;
const limits = { maxUrlLength: 8192, maxHeaderSize: 16384 };

/** An HTTP/1.1 request from 127.0.0.1 with these raw header names and values. */
function request(rawHeaders: string[], url = '/a?b=1'): IncomingMessage {
  const headers = Object.fromEntries(rawHeaders.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), rawHeaders[i + 1]]] : [])));
  return { url, method: 'GET', rawHeaders, headers, httpVersionMajor: 1, httpVersionMinor: 1, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

const check = (req: IncomingMessage) => checkRequestTarget(req, newExchange(req, edge), limits);

describe('checkRequestTarget: Host', () => {
  it('takes exactly one Host, in any letter case', () => {
    for (const name of ['Host', 'host', 'HOST', 'hOsT']) assert.deepEqual(check(request([name, 'a.test'])), { path: '/a', query: '?b=1' }, name);
  });

  it('refuses two Host headers, whatever their spelling, and an HTTP/1.1 request without one', () => {
    for (const names of [['Host', 'host'], ['HOST', 'Host'], ['host', 'hOsT']]) {
      assert.deepEqual(check(request([names[0]!, 'a.test', names[1]!, 'b.test'])), { refuse: 'bad_request' }, names.join(' + '));
    }
    assert.deepEqual(check(request(['Accept', '*/*'])), { refuse: 'bad_request' });
  });
});
