/**
 * Writes the responses Gatehouse makes itself: always the same JSON body, always the request ID. Nothing
 * internal (stacks, library messages) ever reaches the client; details go to the log.
 */
import type { ServerResponse } from 'node:http';
import { reasons, type Reason } from '../observability/reasons.ts';
import { reply, type LocalReply } from '../pipeline/reply.ts';

export function errorBody(reason: Reason, requestId: string): string {
  const info = reasons[reason];
  return JSON.stringify({ error: { status: info.status, reason, message: info.message, requestId } });
}

/** Sends the error reply unless headers already went out; returns the status used. */
export function sendError(res: ServerResponse, reason: Reason, requestId: string, extraHeaders?: Record<string, string>): number {
  return sendLocalReply(res, reply(reason, extraHeaders), requestId, undefined);
}

/** Adds a flat [name, value, ...] list to a header record; repeated names are joined with ", ". */
export function mergeHeaders(into: Record<string, string>, added: readonly string[] | undefined): Record<string, string> {
  if (added) for (let i = 0; i < added.length; i += 2) {
    const name = added[i]!;
    into[name] = into[name] === undefined ? added[i + 1]! : `${into[name]}, ${added[i + 1]!}`;
  }
  return into;
}

/**
 * Sends a policy's local reply: the JSON error body (or no body, e.g. a CORS preflight's 204), the reply's
 * headers, and the headers policies added for every response of the request. Returns the status used.
 */
export function sendLocalReply(res: ServerResponse, local: LocalReply, requestId: string, added: readonly string[] | undefined): number {
  if (res.headersSent || res.destroyed) return local.status;
  const headers = mergeHeaders({ ...local.headers }, added);
  headers['x-request-id'] = requestId;
  if (local.empty) {
    res.writeHead(local.status, headers);
    res.end();
    return local.status;
  }
  const body = errorBody(local.reason, requestId);
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(body));
  headers['cache-control'] = 'no-store';
  res.writeHead(local.status, headers);
  res.end(body);
  return local.status;
}

/** A complete raw HTTP/1.1 error response, for sockets that have no ServerResponse (clientError, upgrade). */
export function rawErrorResponse(reason: Reason, requestId: string, extraHeaders = ''): string {
  const { status, message } = reasons[reason];
  const body = errorBody(reason, requestId);
  return `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nx-request-id: ${requestId}\r\n` +
    `${extraHeaders}connection: close\r\n\r\n${body}`;
}
