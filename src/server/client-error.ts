/**
 * Requests Node's parser rejects still get a well-formed answer, never a bare socket close: 400 bad_request
 * for malformed HTTP, 431 headers_too_large, 414 uri_too_long (when the request line alone is what overflowed
 * the head), 408 request_timeout for slow heads. Each is logged like any other request.
 */
import type { Duplex } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import { newRequestId } from '../observability/request-id.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { Gateway } from '../runtime/gateway.ts';
import { peerAddress } from './client-ip.ts';
import { rawErrorResponse } from './error-response.ts';
import { finish } from './finish.ts';

const REQUEST_START = /^[A-Z]+ (?:\/|\*|https?:\/\/)/;
const REQUEST_LINE_END = / HTTP\/\d\.\d$/;
// The characters a request target may hold (RFC 3986); a header value may hold others (spaces, quotes).
const TARGET_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%#[\]]*$/;

/**
 * Node's parser counts the request line toward its header limit and hands over only the packet it was
 * reading when the head overflowed; a head that arrived in several reads leaves earlier packets unseen. So
 * the request line is judged from that packet: the head's start, or the end of a request line that began
 * earlier (its length counted from the bytes read on the connection: exact for its first request), or a
 * header line; a packet inside one long line is taken for the request target when it holds only the
 * characters a target may.
 */
function overflowReason(packet: Buffer | undefined, bytesRead: number, maxUrlLength: number): Reason {
  if (!packet) return 'headers_too_large';
  const text = packet.toString('latin1');
  const lineEnd = text.indexOf('\r\n');
  const line = lineEnd === -1 ? text : text.slice(0, lineEnd);
  let requestLine: number;
  if (REQUEST_START.test(text)) requestLine = line.length;
  else if (lineEnd === -1) return TARGET_CHARS.test(text) ? 'uri_too_long' : 'headers_too_large';
  else if (REQUEST_LINE_END.test(line)) requestLine = bytesRead - packet.length + lineEnd;
  else return 'headers_too_large';
  return requestLine > maxUrlLength ? 'uri_too_long' : 'headers_too_large';
}

function reasonFor(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex, maxUrlLength: number): Reason {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return overflowReason(err.rawPacket, (socket as { bytesRead?: number }).bytesRead ?? 0, maxUrlLength);
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT') return 'request_timeout';
  return 'bad_request';
}

export function handleClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex, gateway: Gateway): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // The parser can fail in the body of a request whose response has already begun (an upstream that answers
  // before reading the whole body): an error response written now would land inside that response's body,
  // and the client would read it as body bytes. Like Node's own handler, only cut the connection then; the
  // in-flight request is logged when its response closes.
  if ((socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const runtime = gateway.runtime;
  runtime.enter();
  const reason = reasonFor(err, socket, runtime.config.server.maxUrlLength);
  const ex = new Exchange({ requestId: newRequestId(), method: '', path: '', query: '', headers: {}, clientIp: peerAddress((socket as { remoteAddress?: string }).remoteAddress) });
  const response = rawErrorResponse(reason, ex.requestId);
  ex.status = reasons[reason].status;
  ex.reason = reason;
  ex.upstreamError = err.code;
  ex.bytesOut = Buffer.byteLength(response) - response.indexOf('\r\n\r\n') - 4;
  socket.end(response);
  finish(gateway, runtime, ex);
}
