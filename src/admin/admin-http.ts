/**
 * The admin listener's replies: JSON bodies, error bodies with a reason and the request ID (the same body
 * as the data plane's, src/server/error-response.ts, plus fields such as `problems`), and bounded request bodies.
 */
import type http from 'node:http';
import { reasons, type Reason } from '../observability/reasons.ts';
import { errorBody } from '../server/error-response.ts';

export interface AdminReply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string | string[]>>;
  /**
   * A reply with no end (GET /events): once the head is written, it writes the body itself for as long as
   * the client stays (`body` is ignored). A HEAD request gets the head alone.
   */
  readonly stream?: (res: http.ServerResponse) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonReply(status: number, value: unknown, headers?: Record<string, string | string[]>): AdminReply {
  return { status, body: JSON.stringify(value), headers: { 'content-type': JSON_TYPE, ...headers } };
}

/** An error reply; `extra` fields (e.g. problems) go next to `error` in the body. */
export function errorReply(reason: Reason, requestId: string, extra?: Record<string, unknown>, headers?: Record<string, string>): AdminReply {
  const base = errorBody(reason, requestId);
  const body = extra === undefined ? base : JSON.stringify({ ...(JSON.parse(base) as object), ...extra });
  return { status: reasons[reason].status, body, headers: { 'content-type': JSON_TYPE, ...headers } };
}

/** Writes a reply; HEAD gets the head alone. Every admin answer is uncached and carries the request ID. */
export function send(req: http.IncomingMessage, res: http.ServerResponse, reply: AdminReply, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.stream !== undefined) {
    res.writeHead(reply.status, { 'cache-control': 'no-store', 'x-request-id': requestId, 'x-content-type-options': 'nosniff', ...reply.headers });
    if (req.method === 'HEAD') return void res.end();
    return reply.stream(res);
  }
  res.writeHead(reply.status, {
    'cache-control': 'no-store', 'x-request-id': requestId, 'x-content-type-options': 'nosniff',
    ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)),
  });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

/** The request body, or 'too_large' as soon as it passes `limit` bytes (the rest is not read). */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too_large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
