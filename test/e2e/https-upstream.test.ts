/**
 * https:// targets: certificates are verified (against the system CAs plus an optional `tls.ca` file), SNI
 * is sent, and a certificate the gateway cannot verify is a 502 upstream_connect_failure, not a silent
 * downgrade. Certificates are generated at test time with openssl (helpers/test-certs.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { get } from '../helpers/e2e-process.ts';
import { assertGatewayError } from '../helpers/raw-http.ts';
import { logLine, startGateway, tempDir, type TestGateway } from '../helpers/start-gateway.ts';
import { createTestCa } from '../helpers/test-certs.ts';

const dir = tempDir('gatehouse-tls-');
const file = (name: string) => join(dir, name);

describe('https targets', () => {
  let server: https.Server;
  let origin: string;
  const seenServernames: Array<string | false | null> = [];
  const gateways: TestGateway[] = [];

  before(async () => {
    const { cert, key } = createTestCa(dir).issue('server', 'upstream.test', ['upstream.test', '127.0.0.1']);
    server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      seenServernames.push((req.socket as TLSSocket).servername);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`secure ${req.url}`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  async function gatewayWith(tls: Record<string, unknown> | undefined): Promise<TestGateway> {
    const gateway = await startGateway({
      upstreams: { secure: { targets: [{ url: origin }], ...(tls ? { tls } : {}) } },
      routes: [{ name: 'secure', match: { path: '/' }, upstream: 'secure' }],
    });
    gateways.push(gateway);
    return gateway;
  }

  it('verifies the target against the configured CA and sends the configured SNI name', async () => {
    const gateway = await gatewayWith({ ca: file('ca.pem'), servername: 'upstream.test' });
    const res = await fetch(`${gateway.url}/hello`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'secure /hello');
    assert.equal(seenServernames.at(-1), 'upstream.test');
  });

  it('refuses a certificate it cannot verify with 502 upstream_connect_failure and logs why', async () => {
    const gateway = await gatewayWith(undefined);
    const answer = await get(`${gateway.url}/hello`);
    const body = assertGatewayError(answer, 502, 'upstream_connect_failure');
    assert.doesNotMatch(answer.body, /certificate|UNABLE|self.signed/i, 'no internal detail reaches the client');
    const line = await logLine(gateway, body.error.requestId);
    assert.equal(line.reason, 'upstream_connect_failure');
    assert.match(String(line.upstreamError), /CERT|SIGNATURE|ISSUER/);
  });

  it('skips verification only when rejectUnauthorized is false', async () => {
    const gateway = await gatewayWith({ rejectUnauthorized: false });
    const res = await fetch(`${gateway.url}/insecure`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'secure /insecure');
  });
});
