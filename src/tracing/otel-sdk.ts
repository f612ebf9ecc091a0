/**
 * The OpenTelemetry SDK parts tracing uses: an OTLP/HTTP exporter (JSON) behind a BatchSpanProcessor, and
 * the resource the spans name. Loaded with a dynamic import only when a config enables tracing, so a gateway
 * without tracing never loads the SDK (span-export.ts).
 *
 * The OTEL_EXPORTER_OTLP_* (headers, timeout) and OTEL_BSP_* (schedule delay, batch size, export timeout)
 * environment variables apply as the SDK defines them; the queue bound is Gatehouse's own (span-export.ts).
 */
import { readFileSync } from 'node:fs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { SpanScope } from './spans.ts';

export interface OtelPipeline extends SpanScope {
  readonly processor: SpanProcessor;
}

export interface OtelOptions {
  readonly endpoint: string;
  readonly serviceName: string;
  /** Wraps the OTLP exporter (span-export.ts counts what it sends and what fails). */
  readonly wrap: (exporter: SpanExporter) => SpanExporter;
  readonly maxQueueSize: number;
}

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createPipeline(options: OtelOptions): OtelPipeline {
  const exporter = options.wrap(new OTLPTraceExporter({ url: options.endpoint }));
  return {
    processor: new BatchSpanProcessor(exporter, { maxQueueSize: options.maxQueueSize }),
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: version,
      'process.pid': process.pid,
    }),
    scope: { name: 'gatehouse', version: version },
  };
}

/** Hands finished spans to the processor (here so the caller needs no SDK type at runtime). */
export function offer(processor: SpanProcessor, spans: readonly ReadableSpan[]): void {
  for (const span of spans) processor.onEnd(span);
}
