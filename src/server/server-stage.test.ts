import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { ipSet } from '../net/ip-set.ts';
import type { EdgeSettings } from '../runtime/runtime.ts';
import { checkRequest, newExchange } from './server-stage.ts';

const edgeTrusting = (blocks: string[]) => ({ identity: { names: new Set<string>() }, trustedProxies: ipSet(blocks), dropped: new Set<string>() }) as unknown as EdgeSettings;
const edge = edgeTrusting([]);
const limits = { maxUrlLength: 8192, maxHeaderSize: 16384 };

/** An HTTP/1.1 request from 127.0.0.1 with these raw header names and values. */
function request(rawHeaders: string[], url = '/a?b=1', version: [number, number] = [1, 1]): IncomingMessage {
  const headers = Object.fromEntries(rawHeaders.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), rawHeaders[i + 1]]] : [])));
  return {
    url, method: 'GET', rawHeaders, headers, httpVersionMajor: version[0], httpVersionMinor: version[1], httpVersion: version.join('.'),
    socket: { remoteAddress: '127.0.0.1' }, stream: { endAfterHeaders: true },
  } as unknown as IncomingMessage;
}

/** The refusal reason, or the path and query the exchange was given. */
function check(req: IncomingMessage) {
  const ex = newExchange(req, edge);
  const refused = checkRequest(req, ex, limits);
  return refused === undefined ? { path: ex.path, query: ex.query } : { refuse: refused };
}

describe('checkRequest: Host', () => {
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

describe('checkRequest: HTTP version', () => {
  it('takes HTTP/1.0, HTTP/1.1 and HTTP/2', () => {
    for (const version of [[1, 0], [1, 1], [2, 0]] as const) assert.equal('path' in check(request(['Host', 'a.test'], '/a', [...version])), true, version.join('.'));
  });

  it('refuses HTTP/0.9 and versions it does not speak with 505 http_version_not_supported', () => {
    for (const version of [[0, 9], [1, 2], [3, 0]] as const) {
      assert.deepEqual(check(request(['Host', 'a.test'], '/a', [...version])), { refuse: 'http_version_not_supported' }, version.join('.'));
    }
  });
});

describe('newExchange: the client and the X-Forwarded-* sent on', () => {
  const spoofed: IncomingHttpHeaders = { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' };
  const arrival = (remoteAddress: string, headers: IncomingHttpHeaders, encrypted = false) =>
    ({ method: 'GET', headers, socket: { remoteAddress, encrypted } }) as unknown as IncomingMessage;
  const forwarding = (req: IncomingMessage, trusted: string[] = []) => {
    const { clientIp, forwardedFor, forwardedProto, forwardedHost } = newExchange(req, edgeTrusting(trusted));
    return { clientIp, forwardedFor, forwardedProto, forwardedHost };
  };
  const peerOnly = { clientIp: '203.0.113.9', forwardedFor: '203.0.113.9', forwardedProto: 'http', forwardedHost: undefined };

  it('ignores X-Forwarded-For/Proto/Host without trusted proxies: the client is the peer and X-Forwarded-For is exactly the peer', () => {
    assert.deepEqual(forwarding(arrival('203.0.113.9', spoofed)), peerOnly);
  });

  it('ignores the proxy headers of a peer that is not a trusted proxy', () => {
    assert.deepEqual(forwarding(arrival('203.0.113.9', spoofed), ['10.0.0.0/8']), peerOnly);
  });

  it('says https for an encrypted socket, whatever the client claims', () => {
    assert.equal(forwarding(arrival('203.0.113.9', { 'x-forwarded-proto': 'http' }, true)).forwardedProto, 'https');
  });

  it('reports an IPv4-mapped peer as its IPv4 address', () => {
    assert.deepEqual(forwarding(arrival('::ffff:203.0.113.9', spoofed)), peerOnly);
  });

  it('takes the facts a trusted proxy forwarded, an IPv4-mapped proxy too', () => {
    const headers = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.test' };
    assert.deepEqual(forwarding(arrival('::ffff:10.0.0.1', headers), ['10.0.0.0/8']), {
      clientIp: '203.0.113.9', forwardedFor: '203.0.113.9, 10.0.0.1', forwardedProto: 'https', forwardedHost: 'shop.test',
    });
  });
});
