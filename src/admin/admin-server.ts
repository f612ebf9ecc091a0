/**
 * The admin listener, in the process that owns the workers (the cluster primary with `workers: N`):
 *
 *   GET /live      200 while the process answers.
 *   GET /ready     200 when a config is loaded, every worker serves and none drains; 503 otherwise. The
 *                  gateway's own readiness: upstream health is not part of it (docs/traffic-control.md).
 *   GET /snapshot  200 with the traffic and targets of all workers merged into one JSON object of the same
 *                  shape with 1 or N workers (src/runtime/snapshot.ts): workers, requests, inFlight,
 *                  statusClasses, reasons, and targets (upstream, url, inFlight, available, healthy,
 *                  breaker, attempts, failures, latencyEwmaMs), each target once. Counters are totals since each worker started.
 *
 *   GET /metrics   Prometheus text format (metrics-resource.ts), when metrics.enabled.
 *
 * HEAD works wherever GET does; other methods get 405 with Allow, other paths 404, as JSON error bodies.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import { errorBody } from '../server/error-response.ts';
import { sendMetrics } from './metrics-resource.ts';

export interface AdminState {
  ready(): boolean;
  snapshot(): Promise<GatewaySnapshot>;
  /** GET /metrics (no token); absent when metrics are off, and the path is then unknown. */
  metrics?(): Promise<string>;
}

const PATHS = new Set(['/live', '/ready', '/snapshot', '/metrics']);

function json(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function sendSnapshot(res: http.ServerResponse, state: AdminState, log: Logger): void {
  state.snapshot().then((snapshot) => json(res, 200, JSON.stringify(snapshot)), (error: unknown) => {
    const requestId = randomUUID();
    log.error({ err: error, requestId }, 'the admin snapshot failed');
    json(res, 500, errorBody('internal_error', requestId));
  });
}

export function createAdminServer(state: AdminState, log: Logger): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!PATHS.has(path) || (path === '/metrics' && !state.metrics)) {
      json(res, 404, errorBody('route_not_found', randomUUID()));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, errorBody('method_not_allowed', randomUUID()));
      return;
    }
    if (path === '/live') return json(res, 200, '{"status":"live"}');
    if (path === '/snapshot') return sendSnapshot(res, state, log);
    if (path === '/metrics') return sendMetrics(res, state.metrics!, log);
    const ready = state.ready();
    json(res, ready ? 200 : 503, ready ? '{"status":"ready"}' : '{"status":"not_ready"}');
  });
}
