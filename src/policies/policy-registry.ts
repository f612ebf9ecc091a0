/**
 * Every policy type Gatehouse knows, in one explicit list (no registration by import side effect). The
 * config schema validates policy entries against it and runtime/build.ts creates policies from it.
 */
import type { PolicyDefinition } from '../pipeline/policy.ts';
import { apiKeyAuth } from './api-key-auth.ts';
import { contentTypeFilter } from './content-type-filter.ts';
import { cors } from './cors.ts';
import { headerTransform } from './header-transform.ts';
import { idempotency } from './idempotency.ts';
import { ipFilter } from './ip-filter.ts';
import { jwtAuth } from './jwt-auth.ts';
import { rateLimit } from './rate-limit.ts';
import { requestSizeLimit } from './request-size-limit.ts';
import { requestTermination } from './request-termination.ts';

export const policyDefinitions: readonly PolicyDefinition[] = [
  ipFilter, cors, jwtAuth, apiKeyAuth, requestSizeLimit, contentTypeFilter, rateLimit, headerTransform, idempotency, requestTermination,
] as readonly PolicyDefinition[];

export const policyTypes = policyDefinitions.map((d) => d.type);

export function policyDefinition(type: string): PolicyDefinition | undefined {
  return policyDefinitions.find((d) => d.type === type);
}
