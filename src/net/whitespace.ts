/** HTTP's optional whitespace (RFC 9110 §5.6.3), for parsers that walk header values by char code. */

/** True for SP and HTAB only: CR, LF and the Unicode spaces String.prototype.trim removes are not OWS. */
export function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
