/**
 * The `tracing:` section: OpenTelemetry spans for every request and every upstream attempt, exported over
 * OTLP/HTTP. Off by default, and then nothing of the OpenTelemetry SDK is loaded. Its descriptions are the
 * user docs (docs/tracing.md says more).
 */
import { z } from 'zod';

const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces');

export const tracingSchema = z.strictObject({
  enabled: z.boolean().default(false)
    .describe('Export spans. Off by default: then the OpenTelemetry SDK is not even loaded, and traces the gateway starts are flagged sampled ("01") as they always were.'),
  endpoint: httpUrl.default('http://127.0.0.1:4318/v1/traces')
    .describe('The OTLP/HTTP traces endpoint spans are POSTed to (JSON), e.g. an OpenTelemetry Collector or Jaeger: http://HOST:4318/v1/traces.'),
  sampleRatio: z.number().min(0).max(1).default(1)
    .describe('Share of the traces started here that are kept, 0..1. Parent-based: a request that arrives with a traceparent keeps its sampled flag (a client can force sampling with flags 01, or suppress it with 00). Traces not kept are forwarded with flags 00, so the services behind drop them too.'),
  serviceName: z.string().min(1).default('gatehouse')
    .describe('The service.name resource attribute of the exported spans.'),
}).describe('OpenTelemetry tracing: one server span per request and one client span per upstream attempt, in the trace the gateway propagates and logs (traceId). Each worker exports its own spans.');

export type TracingConfig = z.output<typeof tracingSchema>;
