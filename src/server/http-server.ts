/**
 * The client-facing HTTP server: wires node:http to the server stage, the router and the proxy. Each request
 * runs on the runtime current at its arrival and is logged exactly once, when its response closes.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { ProxyHandler } from '../proxy/forward.ts';
import { proxyUpgrade } from '../proxy/websocket.ts';
import type { Reason } from '../observability/reasons.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { pickTarget } from '../upstream/upstream.ts';
import { handleClientError } from './client-error.ts';
import type { Exchange } from './exchange.ts';
import { sendError } from './reply.ts';
import { checkRequestTarget, newExchange } from './server-stage.ts';

export function serverOptions(server: Config['server']): http.ServerOptions {
  return {
    maxHeaderSize: server.maxHeaderSize + server.maxUrlLength,
    headersTimeout: server.headersTimeout,
    requestTimeout: server.requestTimeout,
    keepAliveTimeout: server.keepAliveTimeout,
    // Node checks header/request timeouts on this interval (30 s by default), which would let them fire late.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(server.headersTimeout / 4))),
  };
}

export function createGatewayServer(gateway: Gateway): http.Server {
  const server = http.createServer(serverOptions(gateway.runtime.config.server), (req, res) => onRequest(gateway, req, res));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(gateway, req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    handleClientError(err, socket, gateway.runtime);
  });
  return server;
}

/** Applies the server settings that can change without a restart. */
export function applyServerSettings(server: http.Server, settings: Config['server']): void {
  server.headersTimeout = settings.headersTimeout;
  server.requestTimeout = settings.requestTimeout;
  server.keepAliveTimeout = settings.keepAliveTimeout;
}

function refuse(res: http.ServerResponse, ex: Exchange, reason: Reason, headers?: Record<string, string>): void {
  ex.reason = reason;
  ex.status = sendError(res, reason, ex.requestId, headers);
}

function onRequest(gateway: Gateway, req: http.IncomingMessage, res: http.ServerResponse): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const ex = newExchange(req);
  // Set once the request is forwarded; read by the close listener registered before that.
  const proxied: { handler?: ProxyHandler } = {};
  res.on('close', () => {
    proxied.handler?.clientClosed();
    runtime.accessLog.write(ex);
    runtime.leave();
  });
  if (gateway.draining) res.shouldKeepAlive = false;

  const target = checkRequestTarget(req, ex, runtime.config.server);
  if ('refuse' in target) return refuse(res, ex, target.refuse);
  const found = runtime.router.lookup(ex.method, target.path, ex.host, req.headers);
  if (found.kind === 'not_found') return refuse(res, ex, 'route_not_found');
  if (found.kind === 'method_not_allowed') return refuse(res, ex, 'method_not_allowed', { allow: found.allow });
  const { route, rest } = found.match;
  ex.route = route.name;
  ex.upstream = route.upstream.name;
  const chosen = pickTarget(route.upstream, req, target.path, ex.clientIp);
  if (!chosen) return refuse(res, ex, 'no_healthy_upstream');
  ex.target = chosen.id;
  const headers = req.headers;
  const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
  const handler = new ProxyHandler(req, res, ex, route, chosen, hasBody, gateway.deadlines);
  proxied.handler = handler;
  handler.start((route.stripPrefix ? rest : target.path) + target.query);
}

function onUpgrade(gateway: Gateway, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const ex = newExchange(req);
  let logged = false;
  const done = () => {
    if (logged) return;
    logged = true;
    runtime.accessLog.write(ex);
    runtime.leave();
  };
  proxyUpgrade({ gateway, runtime, req, socket, head, ex, done });
}
