/**
 * Finish: the one place every request ends, however it ended — answered by an upstream or by the gateway,
 * refused by the parser, timed out, aborted by the client, or an upgraded connection closing. It writes the
 * access log line, runs the finish hooks (metrics, live statistics, traces register there) and releases the
 * runtime the request ran on. A second call for the same exchange does nothing.
 */
import type { Exchange } from '../pipeline/exchange.ts';
import type { Attempt } from '../proxy/attempt.ts';
import { tryOutcome } from '../proxy/forward.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { monotonicNow } from '../observability/monotonic.ts';

export function finish(gateway: Gateway, runtime: Runtime, ex: Exchange): void {
  if (ex.finished) return;
  ex.finished = true;
  ex.end = monotonicNow();
  // After a retry, the last attempt's entry: its reason or status (none when the client left during a backoff).
  const tries = ex.tries;
  if (tries !== undefined && tries.length < ex.attempts) tries.push(`${ex.target} ${tryOutcome(ex.reason ?? ex.status)}`);
  runtime.accessLog.write(ex);
  gateway.finishHooks.run(ex);
  runtime.leave();
}

/**
 * The client side closed: an attempt still running is cancelled, and the request is logged 499
 * client_aborted unless it had been answered (`answered`; an upgraded connection closing is its normal end,
 * a response cut mid-body is not). Then finish.
 */
export function finishOnClose(gateway: Gateway, runtime: Runtime, ex: Exchange, attempt: Attempt | undefined, answered: boolean): void {
  if (attempt !== undefined && !attempt.done) attempt.cancel('client_aborted');
  if (!answered || ex.status === 0) {
    ex.status = 499;
    ex.reason = 'client_aborted';
  }
  finish(gateway, runtime, ex);
}
