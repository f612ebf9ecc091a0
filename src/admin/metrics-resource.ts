/**
 * GET /metrics: the instance's metrics in Prometheus text format (docs/metrics.md names every series). It
 * needs no admin token: scrapers are configured with a URL, and the series carry no secrets. Served only
 * when metrics.enabled (the supervisor passes it to the admin listener as an extra resource).
 */
import { Registry } from 'prom-client';
import type { Resource } from './resource.ts';

export function metricsResource(read: () => Promise<string>): Resource {
  return {
    method: 'GET', path: '/metrics', access: 'public', summary: 'Metrics in Prometheus text format.',
    description: 'Every series is named and explained in docs/metrics.md. With workers, one scrape sees the whole instance.',
    responses: { 200: { description: 'Prometheus text exposition format 0.0.4.', contentType: Registry.PROMETHEUS_CONTENT_TYPE } },
    // A failure to read is a thrown error: the admin listener answers it with 500 internal_error and logs it.
    handle: async () => ({ status: 200, body: await read(), headers: { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE } }),
  };
}
