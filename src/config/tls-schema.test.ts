import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listenTlsSchema } from './tls-schema.ts';

// Loading a config checks only that the files exist; their contents are read when the listener starts.
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-schema-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
writeFileSync(cert, '');
writeFileSync(key, '');
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(input: Record<string, unknown>): Array<{ path: string; message: string }> {
  const result = listenTlsSchema.safeParse({ cert, key, ...input });
  return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('listen.tls schema', () => {
  it('fills in the defaults: TLS 1.2, HTTP/2, no extra certificates, no HSTS, no redirect listener', () => {
    assert.deepEqual(listenTlsSchema.parse({ cert, key }), { cert, key, certificates: [], minVersion: 'TLSv1.2', http2: true });
  });

  it('refuses certificate files that do not exist, naming the key', () => {
    assert.deepEqual(problems({ cert: join(dir, 'missing.pem') }).map((p) => p.path), ['cert']);
    assert.deepEqual(problems({ certificates: [{ hosts: ['a.test'], cert, key: join(dir, 'missing.key') }] }).map((p) => p.path), ['certificates.0.key']);
  });

  it('refuses TLS 1.0 and 1.1 as minVersion', () => {
    for (const minVersion of ['TLSv1', 'TLSv1.1', 'SSLv3']) assert.deepEqual(problems({ minVersion }).map((p) => p.path), ['minVersion']);
    assert.deepEqual(problems({ minVersion: 'TLSv1.3' }), []);
  });

  it('accepts exact and "*." SNI names and refuses others', () => {
    assert.deepEqual(problems({ certificates: [{ hosts: ['api.example.com', '*.example.com', 'localhost'], cert, key }] }), []);
    for (const host of ['*', 'a.*.example.com', 'exa mple.com', 'https://a.test', '']) {
      assert.deepEqual(problems({ certificates: [{ hosts: [host], cert, key }] }).map((p) => p.path), ['certificates.0.hosts.0'], host);
    }
    assert.deepEqual(problems({ certificates: [{ hosts: [], cert, key }] }).map((p) => p.path), ['certificates.0.hosts']);
  });

  it('refuses a server name given to two certificates, whatever its case', () => {
    const found = problems({ certificates: [{ hosts: ['a.test'], cert, key }, { hosts: ['b.test', 'A.test'], cert, key }] });
    assert.deepEqual(found, [{ path: 'certificates.1.hosts.1', message: '"a.test" is already served by certificates[0]' }]);
  });

  it('reads HSTS max-age in days beyond the 24 days other durations allow, as milliseconds', () => {
    const parsed = listenTlsSchema.parse({ cert, key, hsts: { maxAge: '365d' } });
    assert.deepEqual(parsed.hsts, { maxAge: 365 * 86_400_000, includeSubDomains: false, preload: false });
    assert.equal(listenTlsSchema.parse({ cert, key, hsts: {} }).hsts!.maxAge, 180 * 86_400_000);
    assert.equal(listenTlsSchema.parse({ cert, key, hsts: { maxAge: '0s' } }).hsts!.maxAge, 0);
    assert.match(problems({ hsts: { maxAge: 'a year' } })[0]!.message, /invalid duration "a year"/);
  });

  it('allows preload only with includeSubDomains and a max-age of at least a year', () => {
    assert.deepEqual(problems({ hsts: { maxAge: '365d', includeSubDomains: true, preload: true } }), []);
    assert.deepEqual(problems({ hsts: { maxAge: '180d', preload: true } }).map((p) => p.path), ['hsts.maxAge', 'hsts.includeSubDomains']);
  });

  it('defaults the redirect listener to port 80 on all interfaces', () => {
    assert.deepEqual(listenTlsSchema.parse({ cert, key, redirectHttp: {} }).redirectHttp, { host: '0.0.0.0', port: 80 });
    assert.deepEqual(problems({ redirectHttp: { httpsPort: 0 } }).map((p) => p.path), ['redirectHttp.httpsPort']);
  });

  it('refuses unknown keys', () => {
    assert.deepEqual(problems({ ciphers: 'ALL' }).map((p) => p.path), ['']);
    assert.deepEqual(problems({ hsts: { maxage: '1d' } }).map((p) => p.path), ['hsts']);
  });
});
