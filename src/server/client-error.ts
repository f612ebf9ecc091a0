/**
 * Requests Node's parser rejects still get a well-formed answer, never a bare socket close: 400 bad_request
 * for malformed HTTP, 431 headers_too_large, 414 uri_too_long (when the request line alone is what overflowed
 * the head), 408 request_timeout for slow heads. Each is logged like any other request.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { clientIpOf } from './exchange.ts';
import { rawErrorResponse } from './reply.ts';

function reasonFor(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, maxUrlLength: number): Reason {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const packet = err.rawPacket;
    const lineEnd = packet ? packet.indexOf('\r\n') : -1;
    const requestLine = lineEnd === -1 ? packet?.length ?? 0 : lineEnd;
    return requestLine > maxUrlLength ? 'uri_too_long' : 'headers_too_large';
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT') return 'request_timeout';
  return 'bad_request';
}

export function handleClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex, runtime: Runtime): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const reason = reasonFor(err, runtime.config.server.maxUrlLength);
  const requestId = randomUUID();
  const status = reasons[reason].status;
  socket.end(rawErrorResponse(reason, requestId));
  runtime.accessLog.write({
    start: performance.now(), time: Date.now(), requestId, traceId: '', traceparent: '', method: '', host: undefined,
    clientIp: clientIpOf((socket as { remoteAddress?: string }).remoteAddress), path: '', route: undefined,
    upstream: undefined, target: undefined, status, reason, bytesIn: 0, bytesOut: 0, upstreamMs: undefined,
    upstreamError: err.code,
  });
}
