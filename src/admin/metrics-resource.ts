/**
 * GET /metrics: the instance's metrics in Prometheus text format (docs/metrics.md names every series). It
 * needs no admin token: scrapers are configured with a URL, and the series carry no secrets.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import { errorBody } from '../server/error-response.ts';

export function sendMetrics(res: http.ServerResponse, read: () => Promise<string>, log: Logger): void {
  read().then((text) => {
    res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }, (error: unknown) => {
    const requestId = randomUUID();
    log.error({ err: error, requestId }, 'reading the metrics failed');
    const body = errorBody('internal_error', requestId);
    res.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
