import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldCache } from './field-cache.ts';
import { asciiBytes } from './json-bytes.ts';

/** The text `cache` writes for `value`, the first time and again (from the cache, or past its limit). */
function written(cache: FieldCache, value: string | undefined): string {
  const buf = Buffer.alloc(1024);
  return buf.toString('latin1', 0, cache.put(buf, 0, value));
}

describe('FieldCache', () => {
  it('writes the same JSON the first time and from the cache, escaping included', () => {
    const cache = new FieldCache(asciiBytes(',"route":'), 10);
    for (const value of ['users', 'say "hi"\\', 'naïve\u2028', '']) {
      const first = written(cache, value);
      assert.equal(first, `,"route":${JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`);
      assert.equal(written(cache, value), first);
      assert.deepEqual(JSON.parse(`{${first.slice(1)}}`), { route: value });
    }
  });

  it('writes nothing for an absent value', () => {
    assert.equal(written(new FieldCache(asciiBytes(',"reason":'), 10), undefined), '');
  });

  it('keeps at most its limit and still writes every value past it', () => {
    const cache = new FieldCache(asciiBytes(',"host":'), 3);
    const hosts = Array.from({ length: 50 }, (_v, i) => `h${i}.test`);
    for (const host of hosts) assert.equal(written(cache, host), `,"host":"${host}"`);
    assert.equal(cache.size, 3);
    for (const host of hosts) assert.equal(written(cache, host), `,"host":"${host}"`);
  });
});
