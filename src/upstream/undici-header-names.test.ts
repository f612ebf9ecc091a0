import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { teachUndiciHeaderNames } from './undici-header-names.ts';

const table = (createRequire(import.meta.url)('undici/lib/core/constants.js') as { headerNameLowerCasedRecord: Record<string, string> }).headerNameLowerCasedRecord;

describe('teaching undici header names', () => {
  let server: http.Server;
  let pool: Pool;
  let seen: http.IncomingHttpHeaders = {};

  before(async () => {
    server = http.createServer((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(async () => {
    await pool.close();
    server.close();
  });

  it('adds valid lower-case names once, and nothing else', () => {
    const name = `x-gh-test-${process.pid}`;
    assert.equal(table[name], undefined);
    assert.equal(teachUndiciHeaderNames([name, 'X-Upper-Case', 'bad name', 'host']), 1);
    assert.equal(table[name], name);
    assert.equal(table['x-upper-case'], undefined);
    assert.equal(table['bad name'], undefined);
    assert.equal(teachUndiciHeaderNames([name]), 0);
  });

  it('leaves undici forwarding the header as before, and still refusing a bad value', async () => {
    const name = `x-gh-forwarded-${process.pid}`;
    teachUndiciHeaderNames([name]);
    const { body } = await pool.request({ path: '/', method: 'GET', headers: [name, 'value-1', 'x-other', 'v'] });
    await body.text();
    assert.equal(seen[name], 'value-1');
    assert.equal(seen['x-other'], 'v');
    await assert.rejects(pool.request({ path: '/', method: 'GET', headers: [name, 'bad\r\nvalue'] }), /invalid/);
  });
});
