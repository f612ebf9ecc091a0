/**
 * The error responses Gatehouse makes itself: always the same JSON body, always the request ID. Nothing
 * internal (stacks, library messages) ever reaches the client; details go to the log. Requests on the
 * data plane answer through their responder (the response phase and finish); these writers are for the
 * listeners that have neither (the HTTPS redirect listener, parser errors on a bare socket).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';

export function errorBody(reason: Reason, requestId: string): string {
  const info = reasons[reason];
  return JSON.stringify({ error: { status: info.status, reason, message: info.message, requestId } });
}

/** The headers that go with an error body. */
export const ERROR_BODY_HEADERS = ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store'] as const;

/** Sends an error response unless headers already went out (listeners without a data plane: the redirect listener). */
export function sendError(res: ServerResponse, reason: Reason, requestId: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(reason, requestId);
  res.writeHead(reasons[reason].status, {
    ...extraHeaders, 'x-request-id': requestId, [ERROR_BODY_HEADERS[0]]: ERROR_BODY_HEADERS[1], [ERROR_BODY_HEADERS[2]]: ERROR_BODY_HEADERS[3],
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** A complete raw HTTP/1.1 error response, for sockets that have no ServerResponse (clientError, upgrade). */
export function rawErrorResponse(reason: Reason, requestId: string, extraHeaders = ''): string {
  const { status, message } = reasons[reason];
  const body = errorBody(reason, requestId);
  return `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nx-request-id: ${requestId}\r\n` +
    `${extraHeaders}connection: close\r\n\r\n${body}`;
}

/** A local reply as a head and a body: the reply's headers, X-Request-ID, and the framing its body needs. */
export function replyParts(local: LocalReply, requestId: string): { headers: string[]; body: string | Buffer | Readable | undefined } {
  const headers: string[] = [];
  if (local.headers) for (const name in local.headers) headers.push(name.toLowerCase(), local.headers[name]!);
  if (local.headerList) headers.push(...local.headerList);
  headers.push('x-request-id', requestId);
  let body: string | Buffer | Readable | undefined;
  if (local.reason !== undefined) {
    if (local.empty) return { headers, body: undefined };
    body = errorBody(local.reason, requestId);
    headers.push(...ERROR_BODY_HEADERS);
  } else {
    body = local.body;
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) headers.push('content-length', String(Buffer.byteLength(body)));
  // 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6); any other empty answer says 0.
  else if (body === undefined && local.status !== 204 && local.status !== 304) headers.push('content-length', '0');
  return { headers, body };
}
