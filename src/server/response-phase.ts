/**
 * The response phase, as both responders use it: the route's response policies run on the head before it is
 * written (an upstream's answer and the gateway's own replies alike), and a body transform they asked for is
 * put between the body and the client. A route without response policies builds nothing here.
 */
import type { Writable } from 'node:stream';
import type { Exchange } from '../pipeline/exchange.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import { ResponseHead } from '../pipeline/response-head.ts';
import type { Attempt } from '../proxy/attempt.ts';
import { clientResponseHeaders } from '../proxy/headers.ts';
import { runResponsePolicies } from '../pipeline/run.ts';
import type { RouteRuntime } from '../runtime/route.ts';

/**
 * Runs the route's response policies on (status, headers), which they may edit in place. Returns the head
 * (for its transforms), undefined when the route has no response policies, or false when a policy threw:
 * the caller then answers 500 policy_error instead.
 */
export function responsePhase(route: RouteRuntime | undefined, ex: Exchange, status: number, headers: string[]): ResponseHead | undefined | false {
  if (route === undefined || route.policies.responseSteps.length === 0) return undefined;
  const head = new ResponseHead(status, headers);
  return runResponsePolicies(route.policies, ex, head) ? head : false;
}

/** What a responder needs to answer 500 policy_error in place of an upstream's head, or to retry instead. */
interface Answering {
  readonly route: RouteRuntime | undefined;
  readonly ex: Exchange;
  answer(local: LocalReply, withPolicies: boolean): void;
  /**
   * For a route that retries: true when this head is discarded and another attempt follows (upgrades have
   * none: they are never retried).
   */
  retryHead?(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean;
}

/**
 * An upstream's response head for the client: its headers (hop-by-hop removed, X-Request-ID set) after the
 * route's response policies. Undefined when it is not for the client: the route retries this status and
 * another attempt follows (the one place a head is judged for a retry, before any policy sees it), or a
 * policy threw: the attempt is then cancelled and 500 policy_error answered instead (without the response
 * policies, which just failed).
 */
export function upstreamHead(
  responder: Answering, attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>,
): { readonly headers: string[]; readonly head: ResponseHead | undefined } | undefined {
  if (responder.route?.retry !== undefined && responder.retryHead?.(attempt, status, upstreamHeaders) === true) return undefined;
  const headers = clientResponseHeaders(upstreamHeaders, responder.ex.requestId);
  const head = responsePhase(responder.route, responder.ex, status, headers);
  if (head !== false) return { headers, head };
  attempt.cancel('policy_error');
  responder.answer(reply('policy_error'), false);
  return undefined;
}

/**
 * Where the body goes: `out` itself, or the first of the head's transforms, piped one into the next and
 * the last into `out`. Bytes are counted as they leave the last transform (the bytes the client gets).
 */
export function bodySink(out: Writable, head: ResponseHead | undefined, ex: Exchange): Writable {
  const makers = head?.transforms;
  if (makers === undefined) return out;
  const stages = makers.map((make) => make());
  let last = stages[0]!;
  for (let i = 1; i < stages.length; i++) last = last.pipe(stages[i]!);
  last.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; });
  last.pipe(out);
  // A transform that fails mid-body leaves a truncated response: the only honest signal is to cut it.
  for (const stage of stages) stage.on('error', () => out.destroy());
  return stages[0]!;
}
