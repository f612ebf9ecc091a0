/**
 * Tracing as one runtime sees it: the sample ratio the server stage applies to the traces it starts, the
 * route path templates (http.route), and the export pipeline it leases (span-export.ts). It is what a sampled
 * request records into (Exchange.trace) and what its finish hands the spans to, so a request ends in the
 * tracing of the runtime it started on, even after a reload changed or removed the `tracing:` section.
 *
 * Off (`enabled: false`, the default) there is no Tracing at all: no import of this unit's SDK side, no
 * record on the exchange, no finish hook.
 *
 * Cost when on, measured by scripts/tracing-microbench.ts (CPU µs per request: one attempt, sampleRatio 1,
 * Node 24, this project's 2-core dev VM, median of 3 runs of 50,000 requests, against the same loop with
 * tracing off):
 *   - on the request path (the record, the attempt's record, the two spans built at finish, the batch
 *     processor's queue): ~1.2 µs;
 *   - the export, off the request path but on the same event loop (the OTLP transformer and JSON.stringify
 *     take most of it, then the socket writes and GC): ~11 µs;
 *   - total ~12 µs per sampled request, so ~0.12 µs per request at sampleRatio 0.01.
 * Off, a request pays one comparison in traceFrom and an undefined-field check per attempt; no finish hook runs.
 */
import type { Exchange } from '../pipeline/exchange.ts';
import type { TraceRecord, TraceRecorder } from '../pipeline/trace-record.ts';
import { newSpanId } from '../observability/request-id.ts';
import type { SpanExport } from './span-export.ts';

export class Tracing implements TraceRecorder<Exchange> {
  readonly sampleRatio: number;
  /** The export pipeline this runtime leases (shared with other runtimes of the same endpoint and service). */
  readonly spanExport: SpanExport;
  /** Route name -> its match path, the http.route of its requests. */
  readonly #routePaths: ReadonlyMap<string, string>;

  constructor(sampleRatio: number, spanExport: SpanExport, routePaths: ReadonlyMap<string, string>) {
    this.sampleRatio = sampleRatio;
    this.spanExport = spanExport;
    this.#routePaths = routePaths;
  }

  begin(parentId: string | undefined, local = false): TraceRecord<Exchange> {
    return { recorder: this, spanId: newSpanId(), parentId, localParent: local, attempts: [] };
  }

  end(ex: Exchange, record: TraceRecord<Exchange>): void {
    const route = ex.route;
    this.spanExport.record({ ex, record, end: ex.end, httpRoute: route === undefined ? undefined : this.#routePaths.get(route) });
  }
}

/** The finish hook: a request recorded for tracing hands its spans to the tracing it started with. */
export function traceAtFinish(ex: Exchange): void {
  const record = ex.trace;
  if (record !== undefined) record.recorder.end(ex, record);
}
