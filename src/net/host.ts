/**
 * What a Host header (or a trusted proxy's X-Forwarded-Host) may say: a host name or a bracketed IPv6
 * literal, then an optional port (RFC 9110 §7.2, RFC 3986 §3.2.2). Names are dot-separated labels of
 * letters, digits, "-" and "_" (underscores occur in real internal names), at most 253 characters without a
 * trailing dot; dotted IPv4 addresses are names by this rule. IPv6 literals follow RFC 3986's grammar; zone
 * IDs and IPvFuture are refused. A port is 1 to 5 digits, at most 65535. isHost runs per request and
 * allocates nothing.
 */

const MAX_NAME = 253;
// The longest acceptable value: a 253-character name, its trailing dot, ":" and five digits. Checked before
// the pattern so that never scans an arbitrarily long header.
const MAX_HOST = MAX_NAME + 7;

const LABEL = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?';
const H16 = '[0-9a-f]{1,4}';
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LS32 = `(?:${H16}:${H16}|${OCTET}(?:\\.${OCTET}){3})`;
// RFC 3986's IPv6address rule, alternative by alternative: the seven forms with "::" differ in how many
// groups may stand before it (0 to 6) and what must follow it.
const AFTER_COMPRESSION = [`(?:${H16}:){4}${LS32}`, `(?:${H16}:){3}${LS32}`, `(?:${H16}:){2}${LS32}`, `${H16}:${LS32}`, LS32, H16, ''];
const IPV6 = [
  `(?:${H16}:){6}${LS32}`,
  `::(?:${H16}:){5}${LS32}`,
  ...AFTER_COMPRESSION.map((tail, i) => `(?:(?:${H16}:){0,${i}}${H16})?::${tail}`),
].join('|');
const HOST = new RegExp(`^(?:\\[(?:${IPV6})\\]|${LABEL}(?:\\.${LABEL})*\\.?)(?::\\d{1,5})?$`, 'i');

/** True when `value` is a host name or IPv6 literal with an optional port, as described above. */
export function isHost(value: string): boolean {
  if (value.length === 0 || value.length > MAX_HOST || !HOST.test(value)) return false;
  const end = portStart(value);
  if (end < value.length && portNumber(value, end + 1) > 65535) return false;
  return nameEnd(value, end) <= MAX_NAME;
}

/** The host of a value isHost accepted, as a URL would carry it: port and trailing dot removed, lower case. */
export function hostName(value: string): string {
  return value.slice(0, nameEnd(value, portStart(value))).toLowerCase();
}

// Only a bracketed literal contains ":" before the port, and it ends with "]" when no port follows.
function portStart(value: string): number {
  const colon = value.lastIndexOf(':');
  return colon === -1 || value.endsWith(']') ? value.length : colon;
}

function nameEnd(value: string, portAt: number): number {
  return value.charCodeAt(portAt - 1) === 0x2e /* . */ ? portAt - 1 : portAt;
}

function portNumber(value: string, from: number): number {
  let port = 0;
  for (let i = from; i < value.length; i++) port = port * 10 + value.charCodeAt(i) - 0x30;
  return port;
}
