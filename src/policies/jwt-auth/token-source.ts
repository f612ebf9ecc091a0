/**
 * Where jwt-auth finds the token: `Authorization: Bearer <token>` (scheme case-insensitive), then a cookie,
 * then a query parameter, in that order of preference. A query parameter carrying a token is always left out
 * of the forwarded URL, whichever source wins: tokens in URLs end up in upstream access logs. Nothing here
 * allocates unless a token is found.
 */
import { cookieValue } from '../../net/cookie.ts';
import { isSpace } from '../../net/whitespace.ts';
import type { Exchange } from '../../pipeline/exchange.ts';

export interface TokenSources {
  readonly header: boolean;
  readonly cookie?: string | undefined;
  readonly query?: string | undefined;
}

const BEARER = 'bearer';

/** Finds the token (undefined if none) and removes the query parameter that may carry one. */
export function takeToken(ctx: Exchange, from: TokenSources): string | undefined {
  let token: string | undefined;
  if (from.query !== undefined) {
    const value = ctx.queryParam(from.query);
    if (value !== undefined) {
      ctx.removeQueryParam(from.query);
      if (value !== '') token = value;
    }
  }
  if (from.cookie !== undefined) token = cookieValue(ctx.headers.cookie, from.cookie) ?? token;
  if (from.header) token = bearerToken(ctx.headers.authorization) ?? token;
  return token;
}

/** The token of an `Authorization: Bearer <token>` value; undefined for another scheme or an empty token. */
export function bearerToken(value: string | undefined): string | undefined {
  if (value === undefined || value.length <= BEARER.length + 1) return undefined;
  // ASCII letters OR 0x20 are lower case; no other character maps onto a lower-case letter this way.
  for (let i = 0; i < BEARER.length; i++) if ((value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) return undefined;
  let start = BEARER.length;
  if (!isSpace(value.charCodeAt(start))) return undefined;
  while (start < value.length && isSpace(value.charCodeAt(start))) start++;
  let end = value.length;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  return end > start ? value.slice(start, end) : undefined;
}
