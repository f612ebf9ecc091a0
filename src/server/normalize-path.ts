/**
 * Path normalisation, done once in the server stage so routing and forwarding see the same path.
 *
 * - `//` runs collapse to `/`; a trailing slash is kept (routes treat it as insignificant, upstreams may not).
 * - Percent-encoded unreserved characters (A-Z a-z 0-9 - . _ ~) are decoded and other escapes upper-cased
 *   (RFC 3986 §6.2.2), so `/%61pi` routes like `/api` and cannot slip past a route meant for `/api`.
 * - Refused (returns undefined -> 400 bad_path): `.`/`..` segments, raw or encoded; encoded `/` `\` and NUL;
 *   raw backslash and NUL; double encoding (`%25` followed by two hex digits once unreserved escapes are
 *   decoded, so `%25%32%65` too); malformed escapes; escaped bytes that are not UTF-8 (`%C3` alone, `%FF`).
 * - Case is significant (RFC 3986): `/API` is not `/api`.
 */
const NEEDS_WORK = /[%\\\0]|\/\/|\/\.(?:\/|\.|$)/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  if (!NEEDS_WORK.test(path)) return path;
  if (path.includes('\\') || path.includes('\0')) return undefined;
  const decoded = decodeUnreserved(path);
  if (decoded === undefined) return undefined;
  const collapsed = decoded.replace(/\/{2,}/g, '/');
  for (const segment of collapsed.split('/')) {
    if (segment === '.' || segment === '..') return undefined;
  }
  return collapsed;
}

function decodeUnreserved(path: string): string | undefined {
  let out = '';
  let last = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const code = parseInt(hex, 16);
    const char = String.fromCharCode(code);
    // Encoded separators and NUL change meaning between hops: refuse them.
    if (char === '/' || char === '\\' || code === 0) return undefined;
    out += path.slice(last, i) + (UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`);
    last = i + 3;
  }
  out += path.slice(last);
  // A second layer of encoding is refused as it stands after decoding, not only as it was sent: `%25%32%65`
  // decodes to `%252e`, an encoded `%2e`, which a hop that decodes once more would read as a dot segment.
  if (DOUBLE_ENCODED.test(out)) return undefined;
  return isUtf8Escapes(out) ? out : undefined;
}

/**
 * Escaped bytes must spell UTF-8: routers (ours included) and most frameworks cannot decode `/x/%C3` and
 * would each do something different with it, so it is refused rather than passed on to be guessed at.
 */
function isUtf8Escapes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
