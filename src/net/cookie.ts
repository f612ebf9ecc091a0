/** Reading one cookie from a Cookie header (RFC 6265 §4.2), for jwt-auth's token source and cookie hashing. */
import { isSpace } from './whitespace.ts';

/** The value of cookie `name` in a Cookie header (quotes removed); undefined when absent or empty. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let i = 0;
  while (i < header.length) {
    while (isSpace(header.charCodeAt(i))) i++;
    const semi = header.indexOf(';', i);
    const end = semi === -1 ? header.length : semi;
    // Cookie names (config) hold no ";" or "=": a match here lies inside this pair.
    if (header.charCodeAt(i + name.length) === 0x3d /* = */ && header.startsWith(name, i)) {
      let value = header.slice(i + name.length + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === '' ? undefined : value;
    }
    i = end + 1;
  }
  return undefined;
}
