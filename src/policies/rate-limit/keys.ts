/**
 * What a limit counts by (its `key`), and the bucket a request falls in. A bucket's identity is
 * (scope: the route name, or "*" for a gateway-wide limit; limit name; key kind; key value), written as one
 * string the memory store and Redis both use: `scope:name:kind:value`. Scopes, names and key kinds hold no
 * ":" beyond the kind's own (header and claim names have none), so the value is everything after.
 *
 * `consumer` is the authenticated consumer, else the token's subject. A request without one, and any key
 * whose value is empty, is counted by its client IP instead, in a bucket of kind `ip` of the same limit: it
 * never shares a bucket with other empty values, nor with a consumer or header that looks like an IP.
 */
import { createHash } from 'node:crypto';
import type { Exchange } from '../../pipeline/exchange.ts';

export const KEY_PATTERN = /^(ip|consumer|route|global|header:[a-z0-9!#$%&'*+.^_`|~-]+|claim:[A-Za-z0-9_.-]+)$/;

/** Values longer than this are hashed, so a long header cannot make a long Redis key. */
const MAX_VALUE_LENGTH = 128;

export interface KeyReader {
  /** The bucket identity of `ex` for this limit. */
  bucket(ex: Exchange): string;
}

export function keyReader(scope: string, name: string, key: string): KeyReader {
  const prefix = `${scope}:${name}:${key}:`;
  const fallback = `${scope}:${name}:ip:`;
  const orIp = (ex: Exchange, value: string | undefined) => (value === undefined || value === '' ? fallback + ex.clientIp : prefix + bounded(value));
  if (key === 'ip') return { bucket: (ex) => prefix + ex.clientIp };
  if (key === 'global') return { bucket: () => prefix };
  if (key === 'route') return { bucket: (ex) => orIp(ex, ex.route) };
  if (key === 'consumer') return { bucket: (ex) => orIp(ex, ex.consumer) };
  if (key.startsWith('header:')) {
    const header = key.slice('header:'.length);
    return { bucket: (ex) => orIp(ex, firstValue(ex.headers[header])) };
  }
  const claim = key.slice('claim:'.length);
  return { bucket: (ex) => orIp(ex, claimValue(ex.identity?.claims?.[claim])) };
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** Strings and numbers count; a claim that is absent, or an object or array, falls back to the client IP. */
function claimValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function bounded(value: string): string {
  return value.length <= MAX_VALUE_LENGTH ? value : `sha256=${createHash('sha256').update(value).digest('base64url')}`;
}
