/**
 * Writes the responses Gatehouse makes itself: always the same JSON body, always the request ID. Nothing
 * internal (stacks, library messages) ever reaches the client; details go to the log.
 */
import type { ServerResponse } from 'node:http';
import { reasons, type Reason } from '../observability/reasons.ts';

export function errorBody(reason: Reason, requestId: string, message?: string): string {
  const info = reasons[reason];
  return JSON.stringify({ error: { status: info.status, reason, message: message ?? info.message, requestId } });
}

/** Sends the error reply unless headers already went out; returns the status used. */
export function sendError(
  res: ServerResponse, reason: Reason, requestId: string, extraHeaders?: Record<string, string>,
): number {
  const { status } = reasons[reason];
  if (res.headersSent || res.destroyed) return status;
  const body = errorBody(reason, requestId);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...extraHeaders,
  });
  res.end(body);
  return status;
}

/** A complete raw HTTP/1.1 error response, for sockets that have no ServerResponse (clientError, upgrade). */
export function rawErrorResponse(reason: Reason, requestId: string, extraHeaders = ''): string {
  const { status, message } = reasons[reason];
  const body = errorBody(reason, requestId);
  return `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nx-request-id: ${requestId}\r\n` +
    `${extraHeaders}connection: close\r\n\r\n${body}`;
}
