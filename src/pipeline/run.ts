/**
 * Runs a route's policies: the request phase, then (for whatever answer the request gets) the response phase.
 *
 * Request phase: policies run Policies run by priority, highest first; the first refusal answers.
 * Authentication policies form one step wherever the highest of them sits: any one that admits is enough
 * (Kong's "logical OR"). When all refuse, the answer is the first refusal from a policy whose credential
 * was presented (a bad token says more than a missing API key), else the first refusal.
 *
 * The loop is synchronous until a policy returns a promise (a JWT cache miss), so routes whose policies
 * answer from memory never pay for a microtask. A throw is a bug: it becomes 500 policy_error and a log line.
 *
 * Response phase: every policy with onResponse runs on the response head, lowest priority first (the reverse
 * of the request order, as Kong's header_filter and Envoy's encoder filters do), whether the answer came from
 * an upstream or from the gateway. A throw there is a bug too: runResponsePolicies reports it, and the caller
 * answers 500 policy_error instead of the head the policy broke.
 */
import type { Logger } from '../observability/logger.ts';
import { reasons, type ReasonInfo } from '../observability/reasons.ts';
import type { Exchange } from './exchange.ts';
import type { Policy, PolicyDefinition } from './policy.ts';
import { reply, type LocalReply } from './local-reply.ts';
import type { ResponseHead } from './response-head.ts';

type Outcome = LocalReply | undefined;
type Step = (ex: Exchange) => Outcome | Promise<Outcome>;
type ResponseStep = (ex: Exchange, head: ResponseHead) => boolean;

export interface NamedPolicy {
  readonly definition: PolicyDefinition;
  readonly policy: Policy;
}

export interface PolicyChain {
  readonly steps: readonly Step[];
  /** The response phase, lowest priority first; empty for most routes (then no ResponseHead is built). */
  readonly responseSteps: readonly ResponseStep[];
  readonly policies: readonly NamedPolicy[];
}

export const EMPTY_CHAIN: PolicyChain = { steps: [], responseSteps: [], policies: [] };

/** A policy or chain outcome that is still deciding (any thenable, as the chain runner itself treats it). */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function guarded(named: NamedPolicy, log: Logger): Step {
  const onRequest = named.policy.onRequest!.bind(named.policy);
  const fail = (error: unknown): Outcome => {
    log.error({ err: error, policy: named.definition.type }, 'policy threw on the request path (a bug)');
    return reply('policy_error');
  };
  return (ex) => {
    try {
      const out = onRequest(ex);
      return isPromise(out) ? out.catch(fail) : out;
    } catch (error) {
      return fail(error);
    }
  };
}

function guardedResponse(named: NamedPolicy, log: Logger): ResponseStep {
  const onResponse = named.policy.onResponse!.bind(named.policy);
  return (ex, head) => {
    try {
      onResponse(ex, head);
      return true;
    } catch (error) {
      log.error({ err: error, policy: named.definition.type, requestId: ex.requestId }, 'policy threw in the response phase (a bug)');
      return false;
    }
  };
}

/** Whether a refusal is about a credential the client presented (a bad token says more than a missing API key). */
function presented(refusal: LocalReply): boolean {
  if (refusal.reason === undefined) return true;
  const info: ReasonInfo = reasons[refusal.reason];
  return info.credentialMissing !== true;
}

/** The group's answer so far after one more refusal: the first presented-credential refusal, else the first. */
function preferred(answer: LocalReply | undefined, refusal: LocalReply): LocalReply {
  return answer === undefined || (!presented(answer) && presented(refusal)) ? refusal : answer;
}

// A plain loop that allocates nothing until a member returns a promise, so a request the first member
// admits costs no more than on a route with a single auth policy.
function authGroup(members: readonly Step[]): Step {
  if (members.length === 1) return members[0]!;
  return (ex) => {
    let answer: LocalReply | undefined;
    for (let i = 0; i < members.length; i++) {
      const out = members[i]!(ex);
      if (isPromise(out)) return finishAuthGroup(members, i, out, ex, answer);
      if (!out) return undefined;
      answer = preferred(answer, out);
    }
    return answer;
  };
}

/** Finishes an auth group once member `i` has answered with a promise. */
async function finishAuthGroup(members: readonly Step[], i: number, pending: Promise<Outcome>, ex: Exchange, answer: LocalReply | undefined): Promise<Outcome> {
  let out: Outcome | Promise<Outcome> = pending;
  for (;;) {
    const refusal = isPromise(out) ? await out : out;
    if (!refusal) return undefined;
    answer = preferred(answer, refusal);
    if (++i === members.length) return answer;
    out = members[i]!(ex);
  }
}

export function compileChain(policies: readonly NamedPolicy[], log: Logger): PolicyChain {
  const sorted = [...policies].sort((a, b) => b.definition.priority - a.definition.priority);
  const steps: Step[] = [];
  const auth = sorted.filter((p) => p.definition.kind === 'auth' && p.policy.onRequest).map((p) => guarded(p, log));
  let authPlaced = false;
  for (const named of sorted) {
    if (!named.policy.onRequest) continue;
    if (named.definition.kind !== 'auth') steps.push(guarded(named, log));
    else if (!authPlaced) {
      steps.push(authGroup(auth));
      authPlaced = true;
    }
  }
  const responseSteps = sorted.filter((p) => p.policy.onResponse).reverse().map((p) => guardedResponse(p, log));
  return { steps, responseSteps, policies: sorted };
}

/** Runs the request phase: undefined to forward, a LocalReply to answer, or a promise of either. */
export function runRequestPolicies(chain: PolicyChain, ex: Exchange): Outcome | Promise<Outcome> {
  const steps = chain.steps;
  for (let i = 0; i < steps.length; i++) {
    const out = steps[i]!(ex);
    if (isPromise(out)) return out.then((r) => (r ? r : continueFrom(steps, i + 1, ex)));
    if (out) return out;
  }
  return undefined;
}

async function continueFrom(steps: readonly Step[], start: number, ex: Exchange): Promise<Outcome> {
  for (let i = start; i < steps.length; i++) {
    const out = await steps[i]!(ex);
    if (out) return out;
  }
  return undefined;
}

/** Runs the response phase on `head`; false when a policy threw (the caller answers 500 policy_error). */
export function runResponsePolicies(chain: PolicyChain, ex: Exchange, head: ResponseHead): boolean {
  const steps = chain.responseSteps;
  for (let i = 0; i < steps.length; i++) if (!steps[i]!(ex, head)) return false;
  return true;
}

export function closePolicies(policies: readonly NamedPolicy[]): void {
  for (const { policy } of policies) policy.close?.();
}
