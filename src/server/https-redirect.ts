/**
 * The plain-HTTP redirect listener (listen.tls.redirectHttp): answers every request with 308 https_redirect
 * to the same host name, path and query on HTTPS (308 keeps the method and body). Nothing is proxied here.
 *
 * The host name comes from the Host header, its port replaced by the HTTPS one (left out when it is 443). A
 * missing or malformed Host, or a request target that is not a path (absolute form, `*`), gets 400
 * bad_request instead: the Location only ever names the host the client asked for. Answers carry the usual
 * JSON body and X-Request-ID; they are not written to the access log.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenTlsConfig } from '../config/tls-schema.ts';
import { hostName, isHost } from '../net/host.ts';
import { requestIdFrom } from '../observability/request-id.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { handleClientError } from './client-error.ts';
import { bind } from './listen.ts';
import { serverOptions } from './http-server.ts';
import { sendError } from './error-response.ts';

type RedirectConfig = NonNullable<ListenTlsConfig['redirectHttp']>;

/** The https:// URL for a request on the redirect listener, or undefined when its Host or target is unusable. */
export function redirectLocation(host: string | undefined, target: string | undefined, httpsPort: number): string | undefined {
  if (host === undefined || !isHost(host) || !target?.startsWith('/')) return undefined;
  return `https://${hostName(host)}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}`;
}

/** Starts the redirect listener; `boundPort` is the HTTPS listener's, used unless config.httpsPort is set. */
export async function startRedirectListener(config: RedirectConfig, boundPort: number, gateway: Gateway): Promise<http.Server> {
  const httpsPort = config.httpsPort ?? boundPort;
  const server = http.createServer(serverOptions(gateway.runtime.config.server), (req, res) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const location = redirectLocation(req.headers.host, req.url, httpsPort);
    if (gateway.draining) res.shouldKeepAlive = false;
    try {
      if (location === undefined) sendError(res, 'bad_request', requestId);
      else sendError(res, 'https_redirect', requestId, { location });
    } catch {
      // Node refused the Location (a character it will not put in a header): the target was unusable.
      sendError(res, 'bad_request', requestId);
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => handleClientError(err, socket, gateway));
  await bind(server, 'redirect', config.port, config.host);
  return server;
}
