import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hstsResponses, hstsValue } from './tls-server.ts';

describe('hstsValue', () => {
  it('writes max-age in seconds and the directives that are on', () => {
    assert.equal(hstsValue({ maxAge: 180 * 86_400_000, includeSubDomains: false, preload: false }), 'max-age=15552000');
    assert.equal(hstsValue({ maxAge: 365 * 86_400_000, includeSubDomains: true, preload: true }), 'max-age=31536000; includeSubDomains; preload');
  });
});

describe('hstsResponses', () => {
  const HSTS = 'max-age=600';
  const { ServerResponse, Http2ServerResponse } = hstsResponses(HSTS);

  /**
   * How each path answers: the ways Gatehouse writes headers, and an upstream that sends its own HSTS. HTTP/2's
   * compatibility response takes the same calls.
   */
  function answer(res: http.ServerResponse, path: string | undefined): void {
    if (path === '/list') res.writeHead(200, ['content-type', 'text/plain', 'x-a', '1', 'x-a', '2']);
    else if (path === '/record') res.writeHead(404, { 'content-type': 'application/json' });
    else if (path === '/message') res.writeHead(200, 'Fine', ['x-a', '1']);
    else if (path === '/own-list') res.writeHead(200, ['Strict-Transport-Security', 'max-age=1']);
    else if (path === '/own-record') res.writeHead(200, { 'strict-transport-security': 'max-age=2' });
    // Else no writeHead: Node writes the head itself when the body starts.
    res.end('x');
  }

  describe('HTTP/1.1', () => {
    const server = http.createServer({ ServerResponse }, (req, res) => answer(res, req.url));
    let port: number;
    before(async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    const get = (path: string) => new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      }).on('error', reject);
    });

    it('adds the header to a header list, a header record, a status message form and an implicit head', async () => {
      for (const path of ['/list', '/record', '/message', '/implicit']) {
        const res = await get(path);
        assert.equal(res.headers['strict-transport-security'], HSTS, path);
      }
      const res = await get('/list');
      assert.deepEqual([res.headers['content-type'], res.headers['x-a']], ['text/plain', '1, 2'], 'the other headers are kept');
      assert.equal((await get('/message')).statusMessage, 'Fine');
      assert.equal((await get('/record')).statusCode, 404);
    });

    it('passes on the response\'s own header instead, whatever its case', async () => {
      for (const [path, value] of [['/own-list', 'max-age=1'], ['/own-record', 'max-age=2']] as const) {
        const res = await get(path);
        assert.equal(res.headers['strict-transport-security'], value, path);
        assert.equal(res.rawHeaders.filter((h) => h.toLowerCase() === 'strict-transport-security').length, 1, path);
      }
    });
  });

  describe('HTTP/2', () => {
    const server = http2.createServer({ Http2ServerResponse }, (req, res) => answer(res as unknown as http.ServerResponse, req.url));
    let session: http2.ClientHttp2Session;
    before(async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    after(() => {
      session.close();
      server.close();
    });

    const get = async (path: string) => {
      const req = session.request({ ':path': path });
      const [headers] = await once(req, 'response') as [http2.IncomingHttpHeaders];
      req.resume();
      await once(req, 'end');
      return headers;
    };

    it('adds the header to a header list, a header record and an implicit head; passes on the response\'s own', async () => {
      for (const path of ['/list', '/record', '/implicit']) assert.equal((await get(path))['strict-transport-security'], HSTS, path);
      assert.equal((await get('/own-list'))['strict-transport-security'], 'max-age=1');
      assert.equal((await get('/own-record'))['strict-transport-security'], 'max-age=2');
    });
  });
});
