/**
 * One OTLP/HTTP export pipeline, shared by every runtime whose `tracing:` names the same endpoint and service
 * (leased across reloads like other shared resources: a reload that changes only the sample ratio keeps it;
 * the last runtime to let go flushes what is queued and shuts it down). Each worker has its own.
 *
 * The SDK is loaded with a dynamic import when the first pipeline is made; requests that finish before it is
 * there wait in a small queue. After that, spans go to the SDK's BatchSpanProcessor, behind a bound of its own:
 * spans waiting to be sent beyond MAX_QUEUED are dropped and counted. A collector that is down or slow never
 * holds a request: the export runs on its own timer, and what it cannot deliver is lost, counted and logged
 * once per outage (the first failure, then the recovery with the count lost meanwhile).
 */
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../observability/logger.ts';
import type * as OtelSdk from './otel-sdk.ts';
import type { OtelPipeline } from './otel-sdk.ts';
import { spansOf, type FinishedTrace } from './spans.ts';
import type { TracingConfig } from './tracing-schema.ts';

/** Spans queued and not yet handed to the exporter, at most; the rest are dropped. */
export const MAX_QUEUED = 2048;
/** The longest close() waits for the last spans to be sent. */
export const CLOSE_WAIT_MS = 2000;

export type ExportResultCallback = Parameters<SpanExporter['export']>[1];

/** What this pipeline did with the spans it was given (for tests and, later, metrics). */
export interface ExportCounts {
  /** Delivered to the collector. */
  exported: number;
  /** Dropped because the queue was full, or the SDK could not be loaded. */
  dropped: number;
  /** Sent but not accepted (the collector was down, timed out or refused). */
  failed: number;
}

type Load = () => Promise<typeof OtelSdk>;
const loadSdk: Load = () => import('./otel-sdk.ts');

export function spanExportKey(config: TracingConfig): string {
  return `tracing:${config.endpoint} ${config.serviceName}`;
}

export class SpanExport {
  readonly counts: ExportCounts = { exported: 0, dropped: 0, failed: 0 };
  readonly #config: TracingConfig;
  readonly #log: Logger;
  #pipeline: OtelPipeline | undefined = undefined;
  #offer: ((spans: readonly ReadableSpan[]) => void) | undefined = undefined;
  /** Requests finished before the SDK was loaded; undefined once it is (or could not be). */
  #early: FinishedTrace[] | undefined = [];
  readonly #ready: Promise<void>;
  /** Spans given to the processor and not yet handed to the exporter. */
  #queued = 0;
  #dropping = false;
  #dropLoggedAt = -Infinity;
  #failing = false;
  #failedSince = 0;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;

  constructor(config: TracingConfig, log: Logger, load: Load = loadSdk) {
    this.#config = config;
    this.#log = log;
    this.#ready = load().then((sdk) => this.#loaded(sdk), (error: unknown) => {
      this.#early = undefined;
      log.error({ err: error, endpoint: config.endpoint }, 'tracing: the OpenTelemetry SDK could not be loaded; no spans are exported');
    });
  }

  /** Spans waiting to be handed to the exporter. */
  get queued(): number {
    return this.#queued;
  }

  /** Resolves once the SDK is loaded (or could not be). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** A finished, sampled request: its spans are queued for export. Never throws for a full or broken exporter. */
  record(done: FinishedTrace): void {
    if (this.#closed) {
      this.counts.dropped += 1 + done.record.attempts.length;
      return;
    }
    const pipeline = this.#pipeline;
    if (pipeline === undefined) return this.#wait(done);
    const spans = spansOf(done, pipeline);
    if (this.#queued + spans.length > MAX_QUEUED) return this.#drop(spans.length);
    this.#queued += spans.length;
    this.#offer!(spans);
  }

  /** Sends what is queued now. */
  async flush(): Promise<void> {
    await this.#ready;
    await this.#pipeline?.processor.forceFlush();
  }

  /**
   * Flushes what is queued, then shuts the exporter down (the last lease was released, or the process stops).
   * Waits at most CLOSE_WAIT_MS: a collector that is down must not hold a shutdown (the exporter retries
   * for up to its own timeout); what is not sent by then is lost. Every call returns the same promise.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    await this.#ready;
    this.#closed = true;
    const pipeline = this.#pipeline;
    if (pipeline === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS, 'timeout');
      timer.unref();
    });
    try {
      const ended = await Promise.race([pipeline.processor.shutdown(), gaveUp]);
      if (ended === 'timeout') this.#log.warn({ endpoint: this.#config.endpoint }, `tracing: spans still queued after ${CLOSE_WAIT_MS} ms at shutdown are dropped`);
    } catch (error) {
      this.#log.warn({ err: error, endpoint: this.#config.endpoint }, 'tracing: spans still queued at shutdown could not be exported');
    } finally {
      clearTimeout(timer);
    }
  }

  #wait(done: FinishedTrace): void {
    const early = this.#early;
    // The SDK could not be loaded (logged then): nothing will be sent.
    if (early === undefined) this.counts.dropped += 1 + done.record.attempts.length;
    else if (early.length >= MAX_QUEUED) this.#drop(1 + done.record.attempts.length);
    else early.push(done);
  }


  #loaded(sdk: typeof OtelSdk): void {
    const pipeline = sdk.createPipeline({
      endpoint: this.#config.endpoint, serviceName: this.#config.serviceName, maxQueueSize: MAX_QUEUED,
      wrap: (exporter) => this.#counting(exporter),
    });
    this.#pipeline = pipeline;
    this.#offer = (spans) => sdk.offer(pipeline.processor, spans);
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const done of early) this.record(done);
  }

  #drop(count: number): void {
    this.counts.dropped += count;
    if (this.#dropping) return;
    this.#dropping = true;
    // Once when it starts; a queue that fills again and again is logged at most once a minute.
    const now = performance.now();
    if (now - this.#dropLoggedAt < 60_000) return;
    this.#dropLoggedAt = now;
    this.#log.warn({ endpoint: this.#config.endpoint, dropped: this.counts.dropped },
      `tracing: the export queue is full (${MAX_QUEUED} spans); spans are dropped and counted until it drains (logged at most once a minute)`);
  }

  /** The OTLP exporter, with what it sends and what fails counted, and failures logged once per outage. */
  #counting(inner: SpanExporter): SpanExporter {
    return {
      export: (spans, done: ExportResultCallback) => {
        this.#queued -= spans.length;
        if (this.#queued < MAX_QUEUED / 2) this.#dropping = false;
        inner.export(spans, (result) => {
          if (result.code === 0) this.#exported(spans.length);
          else this.#failed(spans.length, result.error);
          done(result);
        });
      },
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    };
  }

  #exported(count: number): void {
    this.counts.exported += count;
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info({ endpoint: this.#config.endpoint, lost: this.counts.failed - this.#failedSince }, 'tracing: exporting spans again');
  }

  #failed(count: number, error: Error | undefined): void {
    this.counts.failed += count;
    if (this.#failing) return;
    this.#failing = true;
    this.#failedSince = this.counts.failed - count;
    this.#log.warn({ err: error, endpoint: this.#config.endpoint }, 'tracing: spans could not be exported; they are dropped and counted until the collector answers again (logged once)');
  }
}
