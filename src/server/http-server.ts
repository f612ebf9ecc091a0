/**
 * The client-facing HTTP server: wires node:http's events to the request path (handle-request.ts), the
 * upgrade path (websocket.ts) and the parser-error answers (client-error.ts).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { proxyUpgrade } from '../proxy/websocket.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { handleClientError } from './client-error.ts';
import { onRequest } from './handle-request.ts';
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
  const settings = gateway.runtime.config.server;
  const server = http.createServer(serverOptions(settings), (req, res) => onRequest(gateway, req, res));
  // Answered by Gatehouse: 100 Continue only once the route's policies admitted the request (a declared
  // length over a size limit gets 413 before the client sends its body).
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(gateway, req, res, true));
  if (settings.maxConnections !== undefined) server.maxConnections = settings.maxConnections;
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
  server.maxConnections = settings.maxConnections ?? Infinity;
}

function onUpgrade(gateway: Gateway, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const runtime = gateway.runtime;
  runtime.enter();
  const ex = newExchange(req, runtime.edge);
  let logged = false;
  const done = () => {
    if (logged) return;
    logged = true;
    runtime.accessLog.write(ex);
    runtime.leave();
  };
  proxyUpgrade({ gateway, runtime, req, socket, head, ex, done });
}
