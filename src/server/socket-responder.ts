/**
 * The client side of a request answered on the raw socket: protocol upgrades (WebSocket) and HTTP/1.1
 * CONNECT. An upgrade runs the same lifecycle as a plain request (server stage, route, policies), its
 * handshake is an attempt like any other (an available target, the in-flight count, the deadlines, an
 * outcome), and it ends in the same finish, when the connection closes.
 *
 * After the target answers 101 the sockets are piped raw (proxy/tunnel.ts). A target that answers the
 * upgrade request with a normal response instead (200, 401, 404, ...) has that answer relayed as it is and
 * logged with its own status and no reason; the connection then closes, since it was not upgraded. A target
 * that closes the connection before answering gets 502 upgrade_failed.
 */
import type http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { removeHeader } from '../pipeline/header-list.ts';
import { reply, type LocalReply } from '../pipeline/local-reply.ts';
import type { Attempt, AttemptOwner } from '../proxy/attempt.ts';
import { noTargetReason, pickFor, startAttempt } from '../proxy/forward.ts';
import { pipeTunnel, rawHead } from '../proxy/tunnel.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { RouteRuntime } from '../runtime/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { replyParts } from './error-response.ts';
import { finishOnClose } from './finish.ts';
import { runLifecycle, type Responder } from './lifecycle.ts';
import { responsePhase, upstreamHead } from './response-phase.ts';
import { newExchange } from './server-stage.ts';

export class SocketResponder implements Responder, AttemptOwner {
  readonly gateway: Gateway;
  readonly runtime: Runtime;
  readonly ex: Exchange;
  readonly req: http.IncomingMessage;
  readonly socket: Duplex;
  readonly #head: Buffer;
  route: RouteRuntime | undefined = undefined;
  #attempt: Attempt | undefined = undefined;
  /** A response head went to the client. */
  #answered = false;

  constructor(gateway: Gateway, req: http.IncomingMessage, socket: Duplex, head: Buffer, isUpgrade: boolean) {
    this.gateway = gateway;
    const runtime = this.runtime = gateway.runtime;
    runtime.enter();
    this.ex = newExchange(req, runtime.edge, isUpgrade);
    this.req = req;
    this.socket = socket;
    this.#head = head;
    socket.on('error', () => socket.destroy());
    socket.on('close', this.#closed);
  }

  gone(): boolean {
    return this.socket.destroyed;
  }

  answer(local: LocalReply, withPolicies = true): void {
    if (this.#answered || this.socket.destroyed) return;
    const ex = this.ex;
    const { headers, body } = replyParts(local, ex.requestId);
    const head = withPolicies ? responsePhase(this.route, ex, local.status, headers) : undefined;
    if (head === false) return this.answer(reply('policy_error'), false);
    this.#answered = true;
    ex.status = local.status;
    ex.reason = local.reason;
    ex.source = local.source;
    headers.push('connection', 'close');
    const message = local.reason === undefined ? '' : reasons[local.reason].message;
    this.socket.write(rawHead(`HTTP/1.1 ${local.status} ${message}`, headers));
    this.#endWith(body);
  }

  forward(): void {
    if (this.gateway.draining) return this.answer(reply('shutting_down'));
    const route = this.route!;
    const target = pickFor(route, this.ex);
    if (target === undefined) return this.answer(reply(noTargetReason(route)));
    this.#attempt = startAttempt(this.gateway, this.runtime, this.ex, route, target, null, this, this.req.headers.upgrade ?? 'websocket');
  }

  attemptUpgraded(attempt: Attempt, status: number, raw: Buffer[] | null, upstream: Duplex): void {
    const ex = this.ex;
    const headers: string[] = [];
    if (raw) for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = String(raw[i]);
      if (name.toLowerCase() !== 'x-request-id') headers.push(name, String(raw[i + 1]));
    }
    headers.push('x-request-id', ex.requestId);
    // Response policies see the 101's head too; its Connection and Upgrade headers must stay as they are.
    if (responsePhase(this.route, ex, status, headers) === false) {
      upstream.destroy();
      attempt.closeUpgraded();
      return this.answer(reply('policy_error'), false);
    }
    this.#answered = true;
    ex.status = status;
    this.socket.write(rawHead(`HTTP/1.1 ${status} Switching Protocols`, headers));
    if (this.#head.length) upstream.write(this.#head);
    pipeTunnel(this.socket, upstream, this.route!.upgradeIdleTimeout, ex, () => attempt.closeUpgraded());
  }

  attemptHead(attempt: Attempt, status: number, upstreamHeaders: Record<string, string | string[] | undefined>): boolean {
    const ex = this.ex;
    // Hop-by-hop headers are already gone; the body is relayed raw and ended by the close, so no length either.
    const upstream = upstreamHead(this, attempt, status, upstreamHeaders);
    if (upstream === undefined) return true;
    const { headers } = upstream;
    removeHeader(headers, 'content-length');
    this.#answered = true;
    ex.status = status;
    headers.push('connection', 'close');
    this.socket.write(rawHead(`HTTP/1.1 ${status} ${statusText(status)}`, headers));
    return true;
  }

  attemptData(_attempt: Attempt, chunk: Buffer): boolean {
    this.ex.bytesOut += chunk.length;
    this.socket.write(chunk);
    return true;
  }

  attemptEnd(): void {
    this.socket.end();
  }

  attemptFailed(_attempt: Attempt, reason: Reason): void {
    const ex = this.ex;
    if (reason === 'client_aborted') {
      ex.status = 499;
      ex.reason = reason;
    } else if (this.#answered) {
      ex.status = reasons[reason].status;
      ex.reason = reason;
      this.socket.destroy();
    } else {
      this.answer(reply(reason === 'upstream_reset' ? 'upgrade_failed' : reason));
    }
  }

  #endWith(body: string | Buffer | Readable | undefined): void {
    const ex = this.ex;
    if (body === undefined) {
      this.socket.end();
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      ex.bytesOut += Buffer.byteLength(body);
      this.socket.end(body);
    } else {
      body.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; });
      body.on('error', () => this.socket.destroy());
      body.pipe(this.socket);
    }
  }

  // An upgraded connection closing is its normal end; one closed before any answer is a client abort.
  readonly #closed = (): void => finishOnClose(this.gateway, this.runtime, this.ex, this.#attempt, true);
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 426: 'Upgrade Required' };
const statusText = (status: number): string => STATUS_TEXT[status] ?? '';

/** A protocol upgrade (server 'upgrade'). */
export function onUpgrade(gateway: Gateway, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  runLifecycle(new SocketResponder(gateway, req, socket, head, true), req);
}

/** CONNECT asks the gateway to be a forward proxy, which it is not: 400 bad_path (authority-form target). */
export function refuseConnect(gateway: Gateway, req: http.IncomingMessage, socket: Duplex): void {
  const responder = new SocketResponder(gateway, req, socket, Buffer.alloc(0), false);
  responder.ex.path = (req.url ?? '').slice(0, 256);
  responder.answer(reply('bad_path'));
}
