/**
 * The policy unit (Kong's plugin, Envoy's filter): a zod schema whose descriptions are the user docs, and a
 * factory that builds the policy once per runtime. Policies see the Exchange (the request's state), never
 * Node's req/res, so they are testable without sockets. On the request path a policy steers by return value: nothing to
 * continue, a LocalReply to answer now. A throw is a bug, turned into 500 policy_error by run.ts.
 */
import type { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { SharedResources } from '../leases/shared-resources.ts';
import type { SharedRedis } from '../redis/shared-redis.ts';
import type { Exchange } from './exchange.ts';
import type { LocalReply } from './local-reply.ts';
import type { ResponseHead } from './response-head.ts';

export interface Policy {
  /** Before the upstream is contacted. Return a LocalReply to answer now; nothing to continue. */
  onRequest?(ex: Exchange): LocalReply | undefined | Promise<LocalReply | undefined>;
  /**
   * The response head is known and not yet written: set, append or remove headers, or wrap the body in a
   * transform. Runs for every response of the route (upstream answers and local replies alike), lowest
   * priority first. Synchronous: it must not wait on anything.
   */
  onResponse?(ex: Exchange, head: ResponseHead): void;
  /** Release what create() started (timers, sockets, shared resources). Called once the runtime drained. */
  close?(): void;
}

export interface PolicyDeps {
  readonly log: Logger;
  /** Resources shared across routes and reloads by identity (e.g. one JWKS cache per URL). */
  readonly shared: SharedResources;
  /** The process's connection to the config's `redis:` (undefined without one; the config refuses `store: redis` then). */
  readonly redis?: SharedRedis | undefined;
  /** Whose policy this is: the route's name for a route's own, "*" for a gateway-wide one (the identity of state it keeps). */
  readonly scope?: string | undefined;
  /**
   * For a type that adds to the gateway-wide entry (addsToInherited): that entry's settings, when the route
   * inherits one. The route's policy then enforces both, and the gateway-wide one is not run on that route.
   */
  readonly inherited?: unknown;
  /** Worker processes of this instance (config.workers resolved): state kept in memory is per worker. */
  readonly workers?: number | undefined;
}

/**
 * Authentication policies are grouped on a route: any one that admits is enough (see run.ts). Other kinds
 * run one after the other and the first refusal answers.
 */
export type PolicyKind = 'auth' | 'filter';

/** A header name a policy's settings use, and where in the settings it is. */
export interface HeaderUse {
  readonly path: ReadonlyArray<string | number>;
  readonly name: string;
}

export interface PolicyDefinition<S extends z.ZodType = z.ZodType> {
  /** kebab-case: the YAML `type`, the file name, the log field. */
  readonly type: string;
  /** Higher runs earlier on the request, later on the response. */
  readonly priority: number;
  readonly kind: PolicyKind;
  /** Strict object schema of the policy's settings (without `type`); descriptions are the docs. */
  readonly schema: S;
  /** One paragraph for docs/policies.md. */
  readonly doc: string;
  /**
   * Answers CORS preflights itself. A preflight is then routed by the method it announces, so it reaches
   * this policy on a route limited to other methods instead of getting 405 (see resolve-request.ts).
   */
  readonly answersPreflight?: boolean;
  /**
   * A route's own entry of this type adds to the gateway-wide one instead of replacing it (rate-limit: a
   * global per-IP limit and a route's limit both hold). create() gets the gateway-wide settings as deps.inherited.
   */
  readonly addsToInherited?: boolean;
  /**
   * The request header names these settings make the policy send upstream, each with its path in the settings.
   * The config refuses identity headers among them: Gatehouse sets those from the verified identity alone.
   */
  readonly upstreamHeaders?: (settings: z.output<S>) => readonly HeaderUse[];
  create(config: z.output<S>, deps: PolicyDeps): Policy;
}

export function definePolicy<S extends z.ZodType>(definition: PolicyDefinition<S>): PolicyDefinition<S> {
  return definition;
}
