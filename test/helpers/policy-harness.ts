/**
 * The request a policy or pipeline test runs against: a PolicyContext with plain defaults (GET /api on
 * route "api" from 127.0.0.1, request ID "r-1", no query, only a Host header, not an upgrade). A test names
 * only the facts it is about; everything else stays at the default.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PolicyContext } from '../../src/pipeline/context.ts';

/** What PolicyContext is built from. */
export type PolicyContextInit = ConstructorParameters<typeof PolicyContext>[0];

const CONTEXT_DEFAULTS = {
  requestId: 'r-1',
  route: 'api',
  method: 'GET',
  path: '/api',
  query: '',
  clientIp: '127.0.0.1',
  isUpgrade: false,
} as const satisfies Omit<PolicyContextInit, 'headers'>;

/** Every request carries one; no policy reads it. */
const DEFAULT_HEADERS: IncomingHttpHeaders = { host: 'api.test' };

/**
 * A PolicyContext from the defaults with `overrides` on top. `headers` are added to the default Host header
 * (a name given here replaces it); `hasBody`, when not given, follows the headers as in production.
 */
export function policyContext(overrides: Partial<PolicyContextInit> = {}): PolicyContext {
  return new PolicyContext({ ...CONTEXT_DEFAULTS, ...overrides, headers: { ...DEFAULT_HEADERS, ...overrides.headers } });
}
