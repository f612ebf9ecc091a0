import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { routeSchema } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { definePolicy, type PolicyDefinition } from '../pipeline/policy.ts';
import { compileChain, EMPTY_CHAIN } from '../pipeline/run.ts';
import { cors } from '../policies/cors.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { routeRuntime } from './route.ts';

const config = routeSchema.parse({ name: 'r', match: { path: '/api', methods: ['POST'] }, upstream: 'u', idleTimeout: '5s' });
const upstream = { config: { timeouts: { bodyIdle: 60_000 } } } as unknown as Upstream;
const log = {} as Logger;

const fake = (type: string, answersPreflight?: boolean) => definePolicy({
  type, priority: 1, kind: 'filter', schema: z.strictObject({}), doc: `${type} (test double)`,
  ...(answersPreflight === undefined ? {} : { answersPreflight }),
  create: () => ({ onRequest: () => undefined }),
});
const chainOf = (...definitions: PolicyDefinition[]) => compileChain(definitions.map((definition) => ({ definition, policy: {} })), log);

describe('routeRuntime', () => {
  it('resolves timeouts against the upstream', () => {
    const route = routeRuntime(config, upstream, EMPTY_CHAIN);
    assert.equal(route.idleTimeout, 5000);
    assert.equal(routeRuntime({ ...config, idleTimeout: undefined }, upstream, EMPTY_CHAIN).idleTimeout, 60_000);
  });

  it('answers preflights when one of its policies declares it does, as cors does', () => {
    assert.equal(routeRuntime(config, upstream, chainOf(fake('a'), cors)).answersPreflight, true);
    assert.equal(routeRuntime(config, upstream, chainOf(fake('a'), fake('b', true))).answersPreflight, true);
  });

  it('does not answer preflights without such a policy, whatever the policies are called', () => {
    assert.equal(routeRuntime(config, upstream, EMPTY_CHAIN).answersPreflight, false);
    assert.equal(routeRuntime(config, upstream, chainOf(fake('cors'), fake('b', false))).answersPreflight, false);
  });
});
