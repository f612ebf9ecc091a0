/**
 * The one message protocol between the cluster primary and its workers, both directions, over the cluster
 * IPC channel. Workers are forked with `serialization: 'advanced'` (below), so messages are structured
 * clones: Buffers, Maps and `undefined` survive, where the default JSON turns a Buffer into an array of numbers.
 *
 * primary -> worker                                  worker -> primary
 *   config {config}       first start              ->  listening {port, listeners, failure?}
 *   prepare {id, config}  build, do not serve yet  ->  prepared {id, ok, error?}
 *   commit {id}           serve what was prepared  ->  done {id, ok, error?}
 *   discard {id}          release what was prepared ->  done {id, ok}
 *   report {id, metrics?} a snapshot now           ->  snapshot {id, snapshot, metrics?, live}
 *   command {id, command} see Command              ->  done {id, ok, error?}
 *   drain                 finish in-flight, exit       (the exit)
 *                                                      snapshot {snapshot, live}: unasked, every 500 ms
 *
 * A message with an `id` is a request; its answer carries the same id (prepare, commit and discard of one
 * config share one). Messages between two processes arrive in the order they were sent, which the
 * prepare/commit protocol relies on: a discard can never overtake its prepare.
 */
import type { Worker } from 'node:cluster';
import type { Config } from '../config/schema.ts';
import type { ErrorCode } from '../errors.ts';
import type { ListenerName } from '../server/listen.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import type { MetricsJson } from '../metrics/process-metrics.ts';
import type { LiveExport } from '../live/live-stats.ts';
import type { BoundListener } from './instance.ts';

/** What the primary orders every worker to do to the gateway it serves (the admin API's write side). */
export type Command =
  /** Reopen the log files (after rotation). */
  | { readonly type: 'reopen-logs' }
  /** Stop (false) or resume (true) sending traffic to one target, named by upstream and target URL. */
  | { readonly type: 'set-target-available'; readonly upstream: string; readonly url: string; readonly available: boolean }
  /**
   * What the primary's active health checks decided about one target (a replacement worker is sent every
   * target that is down). A target the worker does not have (a reload removed it meanwhile) is skipped.
   */
  | { readonly type: 'set-target-health'; readonly upstream: string; readonly url: string; readonly healthy: boolean; readonly why: string }
  /** Drop cached responses. */
  | { readonly type: 'purge' };

/** How cluster.ts forks workers: structured clones instead of JSON, so binary data stays binary. */
export const serialization = 'advanced';

export type ToWorker =
  | { readonly type: 'config'; readonly config: Config }
  | { readonly type: 'prepare'; readonly id: number; readonly config: Config }
  | { readonly type: 'commit'; readonly id: number }
  | { readonly type: 'discard'; readonly id: number }
  /** `metrics`: answer with the worker's metrics too (a GET /metrics scrape asks; nothing else pays for them). */
  | { readonly type: 'report'; readonly id: number; readonly metrics?: boolean }
  | { readonly type: 'command'; readonly id: number; readonly command: Command }
  | { readonly type: 'drain' };

export type FromWorker =
  /** `failure`: the first config could not be served (port 0, no listeners); the primary reports it as its own error. */
  | { readonly type: 'listening'; readonly port: number; readonly listeners: readonly BoundListener[]; readonly failure?: StartFailure }
  | { readonly type: 'prepared'; readonly id: number; readonly ok: boolean; readonly error?: string }
  | { readonly type: 'done'; readonly id: number; readonly ok: boolean; readonly error?: string }
  /**
   * `id` when it answers a report; none when sent on the worker's own interval. `metrics`: the worker's
   * registry, when the report asked for it and metrics.enabled; the primary merges it into its GET /metrics
   * (metrics/instance-metrics.ts). `live`: the live statistics' seconds completed since the previous report
   * (live/live-stats.ts), which the primary adds to its windows.
   */
  | { readonly type: 'snapshot'; readonly id?: number; readonly snapshot: GatewaySnapshot; readonly metrics?: MetricsJson; readonly live?: LiveExport };

/** Why a worker could not start, as a GatewayError (or any error) is rebuilt from it in the primary. */
export interface StartFailure {
  readonly code: ErrorCode | undefined;
  readonly message: string;
  readonly listener?: ListenerName;
  readonly hostProblem?: boolean;
}

/** The answer each request gets. */
const ANSWERS = {
  config: 'listening', prepare: 'prepared', commit: 'done', discard: 'done', report: 'snapshot', command: 'done',
} as const satisfies Partial<Record<ToWorker['type'], FromWorker['type']>>;

export type Request = Extract<ToWorker, { type: keyof typeof ANSWERS }>;
export type AnswerTo<R extends Request> = Extract<FromWorker, { type: (typeof ANSWERS)[R['type']] }>;

/** The primary's end of the channel to one worker: a node:cluster Worker, or an in-memory fake in tests. */
export interface WorkerLink {
  /** For messages: "worker <pid>". */
  readonly name: string;
  send(message: ToWorker): void;
  /** Calls `handler` with every message from the worker; returns the function that stops it. */
  listen(handler: (message: FromWorker) => void): () => void;
  /** Calls `handler` once when the worker has exited (never synchronously); returns the function that stops it. */
  onGone(handler: (why: string) => void): () => void;
}

export function clusterLink(worker: Worker): WorkerLink {
  return {
    name: `worker ${worker.process.pid}`,
    // A send to a worker that is exiting fails; the exit is what reports it (onGone), so the error is dropped
    // here instead of surfacing as an unhandled 'error' event.
    send: (message) => void worker.send(message, () => {}),
    listen(handler) {
      worker.on('message', handler);
      return () => void worker.off('message', handler);
    },
    onGone(handler) {
      const onExit = (code: number | null, signal: string | null) => handler(`exited (${signal ? `signal ${signal}` : `code ${code}`})`);
      if (worker.isDead()) {
        const tick = setImmediate(() => handler('exited'));
        return () => clearImmediate(tick);
      }
      worker.once('exit', onExit);
      return () => void worker.off('exit', onExit);
    },
  };
}

let lastId = 0;

/** A fresh request id (one counter per primary, so answers never match another request). */
export function nextId(): number {
  return ++lastId;
}

/**
 * Sends a request and resolves with its answer. Rejects if the worker exits first or does not answer within
 * `timeoutMs`; either way nothing is left listening.
 */
export function ask<R extends Request>(to: WorkerLink, message: R, timeoutMs: number): Promise<AnswerTo<R>> {
  const answerType: FromWorker['type'] = ANSWERS[message.type];
  const id = 'id' in message ? message.id : undefined;
  return new Promise((resolve, reject) => {
    const settle = (error: Error | undefined, answer?: FromWorker) => {
      clearTimeout(timer);
      stopListening();
      stopWatching();
      if (error) reject(error);
      else resolve(answer as AnswerTo<R>);
    };
    const timer = setTimeout(() => settle(new Error(`${to.name} did not answer "${message.type}" in ${timeoutMs} ms`)), timeoutMs);
    const stopListening = to.listen((answer) => {
      if (answer.type === answerType && ('id' in answer ? answer.id : undefined) === id) settle(undefined, answer);
    });
    const stopWatching = to.onGone((why) => settle(new Error(`${to.name} ${why} before answering "${message.type}"`)));
    to.send(message);
  });
}

/** Why a settled request to `link` did not succeed (no answer, or an answer with ok false); undefined if it did. */
export function failureOf(link: WorkerLink, result: PromiseSettledResult<{ readonly ok: boolean; readonly error?: string }>): string | undefined {
  if (result.status === 'rejected') return result.reason instanceof Error ? result.reason.message : String(result.reason);
  return result.value.ok ? undefined : `${link.name}: ${result.value.error ?? 'failed'}`;
}

/** One handler per message type: a map the compiler checks covers every type of the union. */
export type Handlers<M extends { readonly type: string }> = { readonly [K in M['type']]: (message: Extract<M, { type: K }>) => void };

/** A message listener that calls the handler for each message's type; messages of no known type are ignored. */
export function dispatch<M extends { readonly type: string }>(handlers: Handlers<M>): (message: M) => void {
  return (message) => {
    const handler = Object.hasOwn(handlers, message.type) ? handlers[message.type as M['type']] as (m: M) => void : undefined;
    handler?.(message);
  };
}
