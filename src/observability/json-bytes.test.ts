import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asciiBytes, asciiJson, jsonStringBound, putAscii, putBytes, putJsonString, putMillis, putUint } from './json-bytes.ts';

function text(write: (buf: Buffer, pos: number) => number, size = 4096): string {
  const buf = Buffer.alloc(size);
  const end = write(buf, 3);
  return buf.toString('latin1', 3, end);
}

describe('JSON bytes', () => {
  it('writes integers exactly, up to 2^53', () => {
    for (const n of [0, 7, 9, 10, 99, 100, 101, 1234, 65535, 2 ** 31 - 1, 2 ** 31, 1e8, 1e8 + 7, 99_999_999_999, 1_795_475_652_438, 1_795_400_000_038, 2 ** 53 - 1]) {
      assert.equal(text((b, p) => putUint(b, p, n)), String(n));
    }
  });

  it('writes milliseconds rounded to the microsecond as the same JSON number as Math.round(x * 1000) / 1000', () => {
    for (const ms of [0, 1, 0.0004, 0.0005, 0.005, 0.05, 0.5, 1.5, 0.105, 0.15, 0.011, 0.01, 0.999, 12.3456789, 250.1, 999.9999, 1000, 86_400_000.123, 3.14159]) {
      const written = text((b, p) => putMillis(b, p, ms));
      assert.equal(Number(written), Math.round(ms * 1000) / 1000, `${ms} -> ${written}`);
      assert.match(written, /^\d+(\.\d*[1-9])?$/, 'no trailing zeros, no exponent');
    }
    assert.equal(Number(text((b, p) => putMillis(b, p, -0.5))), -0.5);
  });

  it('round-trips any string, plain ones copied as they are, always as ASCII within the bound', () => {
    const alphabet = ['a', 'Z', '0', ' ', '/', '~', '"', '\\', '\n', '\t', '\u0000', '\u007f', 'é', '\u2028', '\ud800', '\udc00', '😀'];
    // mulberry32: 32-bit integer arithmetic throughout (a float LCG loses low bits past 2^53 and cycles early).
    let seed = 11;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = 0; i < 3000; i++) {
      const value = Array.from({ length: Math.floor(random() * 16) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const buf = Buffer.alloc(jsonStringBound(value.length) + 8, 0xff);
      const end = putJsonString(buf, 4, value);
      assert.ok(end - 4 <= jsonStringBound(value.length), 'within the bound');
      const written = buf.toString('latin1', 4, end);
      assert.match(written, /^[\x20-\x7e]*$/, 'ASCII only');
      assert.equal(JSON.parse(written), value);
      assert.ok(buf.subarray(end).every((byte) => byte === 0xff), 'nothing written past the returned position');
    }
    assert.equal(text((b, p) => putJsonString(b, p, '/api/users?id=1')), '"/api/users?id=1"');
    assert.equal(asciiJson('é"'), '"\\u00e9\\""');
    assert.equal(text((b, p) => putAscii(b, p, ',"status":')), ',"status":');
    assert.equal(text((b, p) => putBytes(b, p, asciiBytes(',"status":'))), ',"status":');
  });
});
