/**
 * What a request records for its trace while it runs, when tracing is on and its trace is sampled: the span
 * IDs, and one entry per upstream attempt. Nothing here exists for other requests (Exchange.trace stays
 * undefined), so tracing that is off, or a trace not sampled, costs a field check per attempt and per finish.
 * The spans themselves are made once, at finish, from these records and the Exchange's fields.
 *
 * The types take the Exchange as a parameter (`E`) so that exchange.ts can name them without an import cycle.
 */

/** One upstream attempt, as its client span reports it. Filled in by the attempt when it ends. */
export interface AttemptSpan {
  /** The span ID this attempt forwarded as the traceparent's parent ID. */
  readonly spanId: string;
  /** The target's URL (its id) and host:port. */
  readonly target: string;
  readonly host: string;
  /** The path and query sent, with the target's base path. */
  readonly path: string;
  /** performance.now() at dispatch, and when the attempt ended (0 while it runs). */
  readonly start: number;
  end: number;
  /** The upstream's status, when it answered with a head. */
  status: number | undefined;
  /** The gateway's reason when the attempt failed or was ended from outside (client_aborted, a retried head...). */
  reason: string | undefined;
  /** The error code of a failure (ECONNREFUSED), when there was one. */
  errorCode: string | undefined;
}

/** Exports a finished request's spans (the tracing unit implements it). */
export interface TraceRecorder<E> {
  /** The share of traces started here that are sampled (and so forwarded with flags "01"), 0..1. */
  readonly sampleRatio: number;
  /**
   * Starts recording a sampled request; the record goes on ex.trace. `parentId`: the client's span ID (a remote
   * parent), or with `local` the server span of the request this one is made for.
   */
  begin(parentId: string | undefined, local?: boolean): TraceRecord<E>;
  /** The request finished: its spans go to the exporter. */
  end(ex: E, record: TraceRecord<E>): void;
}

export interface TraceRecord<E> {
  readonly recorder: TraceRecorder<E>;
  /** The request (server) span's own ID: every attempt span's parent. */
  readonly spanId: string;
  /** The parent of the request span: the client's span, or the request that made an internal one. */
  readonly parentId: string | undefined;
  /** The parent is the request that made this one, in this process (not a client's span). */
  readonly localParent: boolean;
  readonly attempts: AttemptSpan[];
}
