/**
 * The request a policy or pipeline test runs against: an Exchange with plain defaults (GET /api on
 * route "api" from 127.0.0.1, request ID "r-1", no query, only a Host header, not an upgrade). A test names
 * only the facts it is about; everything else stays at the default.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Exchange, type ExchangeInit } from '../../src/pipeline/exchange.ts';

export type { ExchangeInit };




const CONTEXT_DEFAULTS = {
  requestId: 'r-1',
  route: 'api',
  method: 'GET',
  path: '/api',
  query: '',
  clientIp: '127.0.0.1',
  isUpgrade: false,
} as const satisfies Omit<ExchangeInit, 'headers'>;

/** Every request carries one; no policy reads it. */
const DEFAULT_HEADERS: IncomingHttpHeaders = { host: 'api.test' };

/**
 * An Exchange from the defaults with `overrides` on top. `headers` are added to the default Host header
 * (a name given here replaces it); `hasBody`, when not given, follows the headers as in production.
 */
export function testExchange(overrides: Partial<ExchangeInit> = {}): Exchange {
  return new Exchange({ ...CONTEXT_DEFAULTS, ...overrides, headers: { ...DEFAULT_HEADERS, ...overrides.headers } });
}
