/**
 * The client-facing HTTP server: wires node:http's events to the request lifecycle — plain requests
 * (http-responder.ts), upgrades and CONNECT (socket-responder.ts) — and to the parser-error answers
 * (client-error.ts).
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { handleClientError } from './client-error.ts';
import { onRequest, refuseRequest } from './http-responder.ts';
import { onUpgrade, refuseConnect } from './socket-responder.ts';

export function serverOptions(server: Config['server']): http.ServerOptions {
  return {
    maxHeaderSize: server.maxHeaderSize + server.maxUrlLength,
    headersTimeout: server.headersTimeout,
    requestTimeout: server.requestTimeout,
    keepAliveTimeout: server.keepAliveTimeout,
    // Node checks header/request timeouts on this interval (30 s by default), which would let them fire late.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(server.headersTimeout / 4))),
    // The server stage checks Host itself, so a missing one gets the JSON 400 with a request ID and a log line.
    requireHostHeader: false,
  };
}

export function createGatewayServer(gateway: Gateway): http.Server {
  return attachGateway(http.createServer(serverOptions(gateway.runtime.config.server)), gateway);
}

/**
 * Wires a server's requests, upgrades and HTTP/1.1 parse errors to the gateway: the plain listener's, or the
 * HTTPS listener's (tls-server.ts), whose HTTP/1.1 side emits the same events and whose HTTP/2 requests come
 * as compatible request/response objects. `prepare` runs first on every request (HTTPS: HSTS, HTTP/2 Host).
 */
export function attachGateway<S extends net.Server>(server: S, gateway: Gateway, prepare?: (req: http.IncomingMessage, res: http.ServerResponse) => void): S {
  const settings = gateway.runtime.config.server;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    prepare?.(req, res);
    onRequest(gateway, req, res);
  });
  // Answered by Gatehouse: 100 Continue only once the route's policies admitted the request (a declared
  // length over a size limit gets 413 before the client sends its body).
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    prepare?.(req, res);
    onRequest(gateway, req, res, true);
  });
  if (settings.maxConnections !== undefined) server.maxConnections = settings.maxConnections;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(gateway, req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    handleClientError(err, socket, gateway);
  });
  // Without these, Node would close a CONNECT without a byte and answer an unknown Expect with a bare 417.
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    if (req.httpVersionMajor !== 2) return refuseConnect(gateway, req, socket);
    // An HTTP/2 CONNECT (HTTPS listener) is a stream with a response object, not a raw socket.
    const res = socket as unknown as http.ServerResponse;
    prepare?.(req, res);
    refuseRequest(gateway, req, res, 'bad_path');
  });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => refuseRequest(gateway, req, res, 'expectation_failed'));
  return server;
}

/** The settings applyServerSettings changes: http.Server's, also found on the HTTPS listener's servers. */
export type ReloadableServer = Pick<http.Server, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'maxConnections'>;

/** Applies the server settings that can change without a restart. */
export function applyServerSettings(server: ReloadableServer, settings: Config['server']): void {
  server.headersTimeout = settings.headersTimeout;
  server.requestTimeout = settings.requestTimeout;
  server.keepAliveTimeout = settings.keepAliveTimeout;
  server.maxConnections = settings.maxConnections ?? Infinity;
}
