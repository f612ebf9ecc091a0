/**
 * The admin listener. In this version it serves only what orchestrators need to drain a gateway:
 * GET /live (the process answers) and GET /ready (a config is loaded and the gateway is not draining).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { errorBody } from '../server/error-response.ts';

export interface AdminState {
  ready(): boolean;
}

function json(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export function createAdminServer(state: AdminState): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/live' && path !== '/ready') {
      json(res, 404, errorBody('route_not_found', randomUUID()));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, errorBody('method_not_allowed', randomUUID()));
      return;
    }
    if (path === '/live') return json(res, 200, '{"status":"live"}');
    const ready = state.ready();
    json(res, ready ? 200 : 503, ready ? '{"status":"ready"}' : '{"status":"not_ready"}');
  });
}
