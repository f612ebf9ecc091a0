import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { Reason } from '../observability/reasons.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import type { Exchange } from './exchange.ts';
import { definePolicy, type Policy, type PolicyKind } from './policy.ts';
import { reply, type LocalReply } from './local-reply.ts';
import { closePolicies, compileChain, EMPTY_CHAIN, runRequestPolicies, type NamedPolicy } from './run.ts';

type Outcome = LocalReply | undefined;
type Behaviour = (ctx: Exchange) => Outcome | Promise<Outcome>;

/** The order policies ran in, by type. */
let calls: string[] = [];
/** What the chain logged as errors. */
let errors: Array<{ obj: Record<string, unknown>; msg: string }> = [];

const log = {
  error: (obj: Record<string, unknown>, msg: string) => {
    errors.push({ obj, msg });
  },
} as unknown as Logger;

function fresh(): void {
  calls = [];
  errors = [];
}

/** A fake policy of its own type: records its call, then behaves as told. */
function fake(type: string, priority: number, behaviour: Behaviour = () => undefined, kind: PolicyKind = 'filter'): NamedPolicy {
  const definition = definePolicy({
    type, priority, kind, schema: z.strictObject({}), doc: `${type} (test double)`,
    create: (): Policy => ({
      onRequest(ctx) {
        calls.push(type);
        return behaviour(ctx);
      },
    }),
  });
  return { definition, policy: definition.create(definition.schema.parse({}), { log, shared: new SharedResources() }) };
}

const auth = (type: string, priority: number, behaviour: Behaviour = () => undefined) => fake(type, priority, behaviour, 'auth');
const refuse = (reason: Reason): Behaviour => () => reply(reason);
const later = (outcome: Outcome): Behaviour => () => Promise.resolve(outcome);
const isThenable = (value: unknown) => typeof (value as { then?: unknown } | undefined)?.then === 'function';

function run(policies: NamedPolicy[]) {
  fresh();
  return runRequestPolicies(compileChain(policies, log), testExchange());
}

describe('policy chain order', () => {
  it('runs policies by priority, highest first, whatever order they are listed in', () => {
    assert.equal(run([fake('low', 10), fake('high', 2000), fake('mid', 950)]), undefined);
    assert.deepEqual(calls, ['high', 'mid', 'low']);
  });

  it('keeps the listed order between policies of equal priority', () => {
    run([fake('a', 5), fake('b', 5), fake('c', 5)]);
    assert.deepEqual(calls, ['a', 'b', 'c']);
  });

  it('lists the compiled policies sorted by priority', () => {
    const chain = compileChain([fake('low', 1), fake('high', 3), auth('mid', 2)], log);
    assert.deepEqual(chain.policies.map((p) => p.definition.type), ['high', 'mid', 'low']);
    assert.equal(chain.steps.length, 3);
  });

  it('skips policies that have no request phase', () => {
    const definition = definePolicy({ type: 'closer', priority: 99, kind: 'filter', schema: z.strictObject({}), doc: '', create: () => ({}) });
    const chain = compileChain([{ definition, policy: {} }, fake('a', 1)], log);
    assert.equal(chain.steps.length, 1);
    assert.equal(chain.policies.length, 2);
  });

  it('forwards (undefined) with no policies at all', () => {
    assert.equal(runRequestPolicies(EMPTY_CHAIN, testExchange()), undefined);
    assert.equal(run([]), undefined);
  });
});

describe('policy chain refusals', () => {
  it('answers with the first refusal and runs nothing after it', () => {
    const out = run([fake('a', 3), fake('b', 2, refuse('ip_denied')), fake('c', 1, refuse('unsupported_media_type'))]);
    assert.equal((out as Outcome)?.reason, 'ip_denied');
    assert.equal((out as Outcome)?.status, 403);
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('returns the refusal exactly as the policy made it', () => {
    const made: LocalReply = { status: 204, reason: 'cors_preflight', headers: { vary: 'Origin' }, empty: true };
    assert.equal(run([fake('cors', 1, () => made)]), made);
  });
});

describe('policy chain sync and async', () => {
  it('returns synchronously (not a promise) when every policy answers synchronously', () => {
    const passed = run([fake('a', 2), fake('b', 1)]);
    assert.equal(isThenable(passed), false);
    const refused = run([fake('a', 2, refuse('ip_denied')), fake('b', 1)]);
    assert.equal(isThenable(refused), false);
    assert.equal((refused as Outcome)?.reason, 'ip_denied');
  });

  it('returns a promise when a policy in the middle is async, and keeps the order', async () => {
    const out = run([fake('first', 3), fake('async', 2, later(undefined)), fake('last', 1)]);
    assert.equal(isThenable(out), true);
    assert.deepEqual(calls, ['first', 'async'], 'nothing after the async policy runs before it settles');
    assert.equal(await out, undefined);
    assert.deepEqual(calls, ['first', 'async', 'last']);
  });

  it('answers with a refusal that comes after an async policy', async () => {
    const out = run([fake('async', 3, later(undefined)), fake('refuser', 2, refuse('request_body_too_large')), fake('never', 1)]);
    assert.equal((await out)?.reason, 'request_body_too_large');
    assert.deepEqual(calls, ['async', 'refuser']);
  });

  it('answers with an async refusal and runs nothing after it', async () => {
    const out = run([fake('async', 3, later(reply('token_invalid'))), fake('never', 1)]);
    assert.equal((await out)?.reason, 'token_invalid');
    assert.deepEqual(calls, ['async']);
  });

  it('keeps the order across several async policies', async () => {
    const slow: Behaviour = () => new Promise((resolve) => setImmediate(() => resolve(undefined)));
    const out = run([fake('a', 5, slow), fake('b', 4), fake('c', 3, later(undefined)), fake('d', 2, slow), fake('e', 1)]);
    assert.equal(await out, undefined);
    assert.deepEqual(calls, ['a', 'b', 'c', 'd', 'e']);
  });
});

describe('policy chain failures', () => {
  it('turns a synchronous throw into 500 policy_error, logs it and runs nothing after it', () => {
    const out = run([fake('a', 3), fake('broken', 2, () => {
      throw new Error('bug');
    }), fake('never', 1)]);
    assert.equal(isThenable(out), false);
    assert.deepEqual(out, { status: 500, reason: 'policy_error', headers: undefined });
    assert.deepEqual(calls, ['a', 'broken']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.obj.policy, 'broken');
    assert.equal((errors[0]!.obj.err as Error).message, 'bug');
  });

  it('turns a rejected promise into 500 policy_error, logs it and runs nothing after it', async () => {
    const out = run([fake('broken', 2, () => Promise.reject(new Error('async bug'))), fake('never', 1)]);
    assert.equal(isThenable(out), true);
    assert.deepEqual(await out, { status: 500, reason: 'policy_error', headers: undefined });
    assert.deepEqual(calls, ['broken']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.obj.policy, 'broken');
  });

  it('turns a throw after an async policy into 500 policy_error', async () => {
    const out = run([fake('async', 3, later(undefined)), fake('broken', 2, () => {
      throw new TypeError('x is undefined');
    }), fake('never', 1)]);
    assert.equal((await out)?.reason, 'policy_error');
    assert.deepEqual(calls, ['async', 'broken']);
  });
});

describe('policy chain auth group', () => {
  it('admits when any one auth policy admits, even one listed after a refusing one', () => {
    const out = run([auth('jwt', 1450, refuse('token_missing')), auth('api-key', 1250), fake('after', 900)]);
    assert.equal(out, undefined);
    assert.deepEqual(calls, ['jwt', 'api-key', 'after']);
  });

  it('stops at the first auth policy that admits', () => {
    assert.equal(run([auth('jwt', 1450), auth('api-key', 1250, refuse('api_key_missing'))]), undefined);
    assert.deepEqual(calls, ['jwt']);
  });

  it('answers with the refusal of a presented credential over a missing one when all refuse', () => {
    assert.equal((run([auth('jwt', 1450, refuse('token_missing')), auth('api-key', 1250, refuse('api_key_invalid')), fake('after', 900)]) as Outcome)?.reason,
      'api_key_invalid');
    assert.deepEqual(calls, ['jwt', 'api-key'], 'nothing after the group runs');
    assert.equal((run([auth('jwt', 1450, refuse('token_expired')), auth('api-key', 1250, refuse('api_key_missing'))]) as Outcome)?.reason, 'token_expired');
  });

  it('answers with the first presented-credential refusal when several were presented', () => {
    assert.equal((run([auth('a', 3, refuse('api_key_missing')), auth('b', 2, refuse('token_invalid')), auth('c', 1, refuse('api_key_invalid'))]) as Outcome)?.reason,
      'token_invalid');
  });

  it('answers with the first refusal when no credential was presented at all', () => {
    const out = run([auth('api-key', 1250, refuse('api_key_missing')), auth('jwt', 1450, refuse('token_missing'))]);
    assert.equal((out as Outcome)?.reason, 'token_missing');
    assert.equal((out as Outcome)?.status, 401);
  });

  it('sits at the position of its highest-priority member', () => {
    const policies = () => [fake('ip', 2000), auth('jwt', 1450, refuse('token_missing')), fake('size', 1300), auth('api-key', 1000), fake('low', 10)];
    assert.equal(run(policies()), undefined);
    assert.deepEqual(calls, ['ip', 'jwt', 'api-key', 'size', 'low']);
  });

  it('runs the whole group before a filter placed between its members by priority, and stops there on refusal', () => {
    const out = run([fake('ip', 2000), auth('jwt', 1450, refuse('token_invalid')), fake('size', 1300), auth('api-key', 1000, refuse('api_key_missing'))]);
    assert.equal((out as Outcome)?.reason, 'token_invalid');
    assert.deepEqual(calls, ['ip', 'jwt', 'api-key']);
  });

  it('never reaches the group when a higher filter refuses', () => {
    assert.equal((run([fake('ip', 2000, refuse('ip_denied')), auth('jwt', 1450), auth('api-key', 1250)]) as Outcome)?.reason, 'ip_denied');
    assert.deepEqual(calls, ['ip']);
  });

  it('stays synchronous when every member answers synchronously', () => {
    const out = run([auth('jwt', 1450, refuse('token_missing')), auth('api-key', 1250, refuse('api_key_invalid'))]);
    assert.equal(isThenable(out), false);
  });

  it('admits through an async member after an async refusal, keeping the order', async () => {
    const out = run([auth('jwt', 1450, later(reply('token_invalid'))), auth('api-key', 1250, later(undefined)), fake('after', 900)]);
    assert.equal(isThenable(out), true);
    assert.equal(await out, undefined);
    assert.deepEqual(calls, ['jwt', 'api-key', 'after']);
  });

  it('picks the presented-credential refusal when async members all refuse', async () => {
    const out = run([auth('jwt', 1450, later(reply('token_missing'))), auth('api-key', 1250, refuse('api_key_invalid')), auth('basic', 1100, later(reply('api_key_missing')))]);
    assert.equal((await out)?.reason, 'api_key_invalid');
    assert.deepEqual(calls, ['jwt', 'api-key', 'basic']);
  });

  it('counts a throwing member as a refusal: another member can still admit', () => {
    const out = run([auth('jwt', 1450, () => {
      throw new Error('bug');
    }), auth('api-key', 1250)]);
    assert.equal(out, undefined);
    assert.equal(errors.length, 1);
  });

  it('answers policy_error over a missing credential when a member throws and the others refuse', async () => {
    const out = run([auth('api-key', 1450, refuse('api_key_missing')), auth('jwt', 1250, () => Promise.reject(new Error('bug')))]);
    assert.equal((await out)?.reason, 'policy_error');
  });

  it('behaves as a plain step with a single auth policy', () => {
    assert.equal((run([auth('api-key', 1250, refuse('api_key_missing')), fake('after', 900)]) as Outcome)?.reason, 'api_key_missing');
    assert.deepEqual(calls, ['api-key']);
  });
});

describe('closing a chain', () => {
  it('closes every policy that has close(), in priority order', () => {
    const closed: string[] = [];
    const closing = (type: string, priority: number): NamedPolicy => {
      const named = fake(type, priority);
      return { definition: named.definition, policy: { ...named.policy, close: () => closed.push(type) } };
    };
    const chain = compileChain([closing('low', 1), fake('no-close', 5), closing('high', 10)], log);
    closePolicies(chain.policies);
    assert.deepEqual(closed, ['high', 'low']);
  });
});
