/**
 * JSON text written straight into a byte buffer, for the access log: no line string is built, flattened and
 * encoded per request (measured in the benchmark: ~1 µs per request less than template strings and
 * Buffer.write). Everything written is ASCII: a string of printable ASCII without `"` or `\` is copied
 * byte by byte, any other goes through JSON.stringify with non-ASCII characters escaped as \uXXXX, so the
 * escaping is JSON's own. Each function writes at `pos` and returns the position after what it wrote; the
 * caller makes sure there is room (jsonStringBound).
 */

/** At most this many bytes for a string of `length` UTF-16 units (each can become \uXXXX), quotes included. */
export const jsonStringBound = (length: number): number => 6 * length + 2;

/** Copies text the caller knows is plain ASCII (a literal such as `,"status":`). */
export function putAscii(buf: Uint8Array, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
  return pos;
}

/** The bytes of ASCII text, for literals written on every line: copying bytes is cheaper than reading a string's characters. */
export const asciiBytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Copies bytes (asciiBytes). */
export function putBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i]!;
  return pos;
}

/** Printable ASCII without `"` or `\`: written as it is between the quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A JSON string. A plain one is checked by one regex and copied by Buffer#write as latin1 (a V8 fast call underneath):
 * copying it here char by char made every `charCodeAt` and `length` a polymorphic load, since the log's
 * strings come in many representations (sliced, cons, internalized). perf, gateway under load, share of
 * samples: Builtins_LoadIC 8.5 % -> 5.0 %, putField 1.8 % -> 0.7 %, the regex +0.5 %; about 1.3 µs per
 * request less. Anything else is escaped by JSON.stringify.
 */
export function putJsonString(buf: Buffer, pos: number, value: string): number {
  if (!PLAIN.test(value)) return putAscii(buf, pos, asciiJson(value));
  buf[pos] = 0x22;
  const end = pos + 1 + buf.write(value, pos + 1, 'latin1');
  buf[end] = 0x22;
  return end + 1;
}

/** JSON.stringify's text with every character outside printable ASCII escaped, so the result is ASCII. */
export function asciiJson(value: string): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A non-negative integer (up to 2^53). */
export function putUint(buf: Uint8Array, pos: number, n: number): number {
  if (n <= 0x7fffffff) return putSmall(buf, pos, n, 1);
  // Past 31 bits the digits come from two halves, so every division stays on small integers (the log's
  // time field, 13 digits, is written on every line).
  const high = Math.floor(n / 1e8);
  return putSmall(buf, putSmall(buf, pos, high, 1), n - high * 1e8, 8);
}

/** An integer below 2^31, zero-padded to at least `width` digits. */
function putSmall(buf: Uint8Array, pos: number, n: number, width: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
  if (digits < width) digits = width;
  let x = n;
  for (let p = pos + digits - 1; p >= pos; p--) {
    const q = (x / 10) | 0;
    buf[p] = 48 + (x - q * 10);
    x = q;
  }
  return pos + digits;
}

/** Milliseconds rounded to the microsecond, as a JSON number without trailing zeros (12.3, 0.005, 7). */
export function putMillis(buf: Uint8Array, pos: number, ms: number): number {
  const us = Math.round(ms * 1000);
  if (!(us >= 0)) return putAscii(buf, pos, Number.isFinite(us) ? `${us / 1000}` : '0');
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  pos = putUint(buf, pos, whole);
  if (frac === 0) return pos;
  const tenths = (frac / 100) | 0;
  const rest = frac - tenths * 100;
  const hundredths = (rest / 10) | 0;
  const thousandths = rest - hundredths * 10;
  buf[pos++] = 0x2e;
  buf[pos++] = 48 + tenths;
  if (rest === 0) return pos;
  buf[pos++] = 48 + hundredths;
  if (thousandths !== 0) buf[pos++] = 48 + thousandths;
  return pos;
}
