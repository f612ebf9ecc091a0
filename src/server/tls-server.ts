/**
 * The HTTPS listener (listen.tls): HTTP/2 (ALPN "h2") and HTTP/1.1 on one port through node:http2's
 * compatibility API, or HTTP/1.1 only through node:https when `http2: false`. Requests, upgrades and
 * HTTP/1.1 parse errors are wired to the gateway exactly as on the plain listener (http-server.ts):
 * HTTP/2 requests arrive as compat request/response objects with the same interface and take the same path.
 *
 * At the edges: a failed TLS handshake (old protocol version, garbage) or a broken HTTP/2 session only
 * destroys that connection, never answers in plain HTTP, never throws. HTTP/1.1 over TLS gets the same
 * limits and timeouts as the plain listener; an HTTP/2 session gets the header limit as its
 * SETTINGS_MAX_HEADER_LIST_SIZE (the server stage then checks URL and header sizes exactly) and is asked to
 * finish (GOAWAY) after server.keepAliveTimeout without a frame. WebSockets work over HTTP/1.1 only. With
 * `hsts`, every response carries Strict-Transport-Security, unless it has its own (an upstream's is passed on).
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type tls from 'node:tls';
import type { Config } from '../config/schema.ts';
import type { ListenTlsConfig } from '../config/tls-schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { attachGateway, serverOptions, type ReloadableServer } from './http-server.ts';
import { createTlsContexts, type TlsContexts } from './tls-contexts.ts';

export interface TlsListener {
  /** An https.Server, or an http2 secure server (which has the same HTTP/1.1 settings for its fallback). */
  readonly server: tls.Server & ReloadableServer;
  readonly contexts: TlsContexts;
  /** Closes idle HTTP/1.1 keep-alive connections and asks every HTTP/2 session to finish (GOAWAY). */
  closeIdleConnections(): void;
  /** Closes every connection and HTTP/2 session now. */
  closeAllConnections(): void;
  /** Stops watching the certificate files (after the server has closed). */
  close(): Promise<void>;
}

/** The Strict-Transport-Security value for `hsts`. */
export function hstsValue(hsts: NonNullable<ListenTlsConfig['hsts']>): string {
  return `max-age=${Math.floor(hsts.maxAge / 1000)}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
}

const HSTS = 'strict-transport-security';

const isHsts = (name: unknown) => typeof name === 'string' && name.length === HSTS.length && name.toLowerCase() === HSTS;

/**
 * `headers` (a record, or a flat [name, value, ...] list as Gatehouse writes them) with Strict-Transport-Security
 * added, unless the response already names one: an upstream's own is passed on instead. Without headers the
 * header is set on the response, for the writeHead Node makes itself when a body is written first.
 *
 * The header is added in place: every writeHead caller builds its list or record for that one response, so
 * no copy per response is needed.
 */
function withHsts<H extends http.OutgoingHttpHeaders | readonly unknown[]>(
  res: http.ServerResponse | http2.Http2ServerResponse, headers: H | undefined, value: string,
): H | undefined {
  if (res.hasHeader(HSTS)) return headers;
  if (headers === undefined) {
    res.setHeader(HSTS, value);
    return headers;
  }
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (isHsts(headers[i])) return headers;
    (headers as unknown[]).push(HSTS, value);
    return headers;
  }
  for (const name in headers) if (isHsts(name)) return headers;
  (headers as http.OutgoingHttpHeaders)[HSTS] = value;
  return headers;
}

type Http1Headers = http.OutgoingHttpHeaders | http.OutgoingHttpHeader[];
type Http2Headers = http.OutgoingHttpHeaders | readonly string[];

/**
 * Response classes that send Strict-Transport-Security on every response by adding it to the headers
 * writeHead is given. A setHeader on each request would do the same, but would send every HTTP/1.1 response
 * through Node's slower path that merges set headers with written ones (about 1 µs more per response).
 */
export function hstsResponses(value: string) {
  class Http1Response extends http.ServerResponse {
    override writeHead(statusCode: number, message?: string | Http1Headers, headers?: Http1Headers): this {
      if (typeof message === 'string') return super.writeHead(statusCode, message, withHsts(this, headers, value));
      return super.writeHead(statusCode, withHsts(this, message ?? headers, value));
    }
  }
  class Http2Response extends http2.Http2ServerResponse {
    override writeHead(statusCode: number, message?: string | Http2Headers, headers?: Http2Headers): this {
      if (typeof message === 'string') return super.writeHead(statusCode, message, withHsts(this, headers, value));
      return super.writeHead(statusCode, withHsts(this, message ?? headers, value));
    }
  }
  return { ServerResponse: Http1Response, Http2ServerResponse: Http2Response };
}

function h2Options(server: Config['server']): http2.SecureServerOptions {
  return {
    allowHTTP1: true,
    // Node advertises no stream limit by default; 128 (nginx's default) keeps one client from opening thousands.
    settings: { maxHeaderListSize: server.maxHeaderSize + server.maxUrlLength, maxConcurrentStreams: 128 },
    // Node's default (128 name/value pairs, pseudo-headers included) would refuse requests HTTP/1.1 takes.
    maxHeaderListPairs: 2000,
  };
}

/** HTTP/2 names the host in :authority; routing, logging and balancing read Host. */
function authorityAsHost(req: http.IncomingMessage): void {
  if (req.httpVersionMajor === 2 && req.headers.host === undefined) {
    const authority = req.headers[':authority'];
    if (typeof authority === 'string') req.headers.host = authority;
  }
}

export function createTlsListener(gateway: Gateway, config: ListenTlsConfig, log: Logger): TlsListener {
  const settings = gateway.runtime.config.server;
  const contexts = createTlsContexts(config, log);
  const responses = config.hsts ? hstsResponses(hstsValue(config.hsts)) : {};
  // serverOptions() and the ServerResponse class also configure the HTTP/1.1 side of the http2 server (Node
  // applies them to its fallback).
  const options = { ...serverOptions(settings), ...contexts.serverOptions, ...responses };
  const server = (config.http2
    ? http2.createSecureServer({ ...options, ...h2Options(settings) })
    : https.createServer(options)) as tls.Server & ReloadableServer;
  contexts.attach(server);

  attachGateway(server, gateway, config.http2 ? authorityAsHost : undefined);

  // http2's own handler turns handshake failures into 'clientError', whose handler would answer in plain HTTP.
  server.removeAllListeners('tlsClientError');
  server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy());

  const sessions = new Set<http2.ServerHttp2Session>();
  if (config.http2) {
    server.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      session.setTimeout(gateway.runtime.config.server.keepAliveTimeout, () => session.close());
    });
    server.on('sessionError', (_err: Error, session: http2.ServerHttp2Session) => session.destroy());
  }

  return {
    server,
    contexts,
    // Http2SecureServer tracks its HTTP/1.1 connections like http.Server (and so does https.Server), but its
    // own closeIdleConnections is untyped and it has no closeAllConnections: http.Server's do the job for both.
    closeIdleConnections() {
      http.Server.prototype.closeIdleConnections.call(server);
      for (const session of sessions) session.close();
    },
    closeAllConnections() {
      http.Server.prototype.closeAllConnections.call(server);
      for (const session of sessions) session.destroy();
    },
    close: () => contexts.close(),
  };
}
