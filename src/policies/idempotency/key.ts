/**
 * What an idempotency entry is keyed by and compared on: (identity; Idempotency-Key; method; route), hashed
 * into one store key so consumer names and IPs never appear in Redis, and the SHA-256 of the request body.
 */
import { createHash } from 'node:crypto';
import type { Exchange } from '../../pipeline/exchange.ts';

/** Visible ASCII, 1 to 255 characters (Stripe allows 255). A repeated header arrives joined by ", ": refused. */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

export function validKey(raw: string | string[] | undefined): raw is string {
  return typeof raw === 'string' && VALID_KEY.test(raw);
}

/**
 * Who is asking: the consumer, else the token's subject, else a hash of the credential presented
 * (Authorization: a route without an auth policy still keeps two callers' keys apart), else the client IP.
 */
export function identityOf(ex: Exchange): string {
  const consumer = ex.consumer;
  if (consumer !== undefined) return `c:${consumer}`;
  const credential = ex.headers.authorization;
  if (credential !== undefined) return `a:${sha256(credential)}`;
  return `ip:${ex.clientIp}`;
}

export function storeKey(ex: Exchange, key: string): string {
  return `idempotency:${sha256(`${identityOf(ex)}\n${ex.route ?? ''}\n${ex.method}\n${key}`)}`;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('base64url');
}
