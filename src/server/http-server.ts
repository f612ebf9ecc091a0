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
import { handleClientError } from './client-error.ts';
import type { Exchange } from './exchange.ts';
import { sendError } from './reply.ts';
import { resolveRequest } from './resolve-request.ts';
import { newExchange } from './server-stage.ts';

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

  const resolved = resolveRequest(runtime, req, ex);
  if ('refuse' in resolved) return refuse(res, ex, resolved.refuse, resolved.allow === undefined ? undefined : { allow: resolved.allow });
  const headers = req.headers;
  const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
  const handler = new ProxyHandler(req, res, ex, resolved.route, resolved.target, hasBody, gateway.deadlines);
  proxied.handler = handler;
  handler.start(resolved.forwardPath);
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
