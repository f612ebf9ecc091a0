/**
 * Protocol upgrades (WebSocket and any other `Upgrade`): the request goes through the same server stage and
 * routing as any request; after the target answers 101 the two sockets are piped raw (no framing is parsed).
 * A target that refuses the upgrade has its answer relayed as is. An upgraded connection silent for the
 * route's upgradeIdleTimeout is closed.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { reasons, type Reason } from '../observability/reasons.ts';
import type { Gateway } from '../runtime/gateway.ts';
import type { Exchange } from '../server/exchange.ts';
import { admit, type Admittable, type AdmissionSteps } from '../server/admission.ts';
import { mergeHeaders, rawErrorResponse } from '../server/reply.ts';
import { upstreamPath, type Resolved } from '../server/resolve-request.ts';
import type { PolicyContext } from '../pipeline/context.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { reasonForUpstreamError } from './upstream-errors.ts';

export interface UpgradeContext extends Admittable {
  readonly gateway: Gateway;
  readonly socket: Duplex;
  readonly head: Buffer;
  /** Logs the exchange and releases the runtime; idempotent. */
  readonly done: () => void;
}

function refuse(ctx: UpgradeContext, reason: Reason, extra = ''): void {
  ctx.ex.reason = reason;
  ctx.ex.status = reasons[reason].status;
  ctx.socket.end(rawErrorResponse(reason, ctx.ex.requestId, extra));
  ctx.done();
}

function rawHead(statusLine: string, raw: Buffer[] | string[] | null, skip: Set<string>): string {
  let head = `${statusLine}\r\n`;
  const list = raw ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]);
    if (!skip.has(name.toLowerCase())) head += `${name}: ${String(list[i + 1])}\r\n`;
  }
  return head;
}

const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export function proxyUpgrade(ctx: UpgradeContext): void {
  const { gateway, socket } = ctx;
  socket.on('error', () => socket.destroy());
  socket.on('close', ctx.done);
  if (gateway.draining) return refuse(ctx, 'shutting_down');
  // The route's policies (auth, ip-filter, limits) decide before any 101.
  admit(UPGRADE, ctx);
}

const UPGRADE: AdmissionSteps<UpgradeContext> = {
  isUpgrade: true,
  refuse(ctx, reason, allow) {
    refuse(ctx, reason, allow === undefined ? '' : `allow: ${allow}\r\n`);
  },
  gone: (ctx) => ctx.socket.destroyed,
  answer(ctx, decided, policy) {
    const headers = mergeHeaders({ ...decided.headers }, policy.responseHeaders);
    refuse(ctx, decided.reason, Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join(''));
  },
  proceed: dispatchUpgrade,
};

function dispatchUpgrade(ctx: UpgradeContext, resolved: Resolved, policy: PolicyContext | undefined): void {
  const { runtime, req, socket, ex } = ctx;
  const { route, target: chosen } = resolved;
  const started = performance.now();
  let upgraded = false;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onRequestUpgrade(_controller, statusCode, _headers, upstream) {
      upgraded = true;
      ex.status = statusCode;
      ex.upstreamMs = performance.now() - started;
      const raw = (_controller as { rawHeaders?: Buffer[] }).rawHeaders ?? null;
      socket.write(`${rawHead(`HTTP/1.1 ${statusCode} Switching Protocols`, raw, new Set(['x-request-id']))}x-request-id: ${ex.requestId}\r\n\r\n`);
      if (ctx.head.length) upstream.write(ctx.head);
      pipeUpgraded(socket, upstream, route.upgradeIdleTimeout, ex);
    },
    onResponseStart(controller, statusCode, _headers, statusText) {
      // The target declined the upgrade: relay its answer and close, since the connection was not upgraded.
      ex.status = statusCode;
      ex.reason = 'upgrade_failed';
      const raw = (controller as { rawHeaders?: Buffer[] }).rawHeaders ?? null;
      socket.write(`${rawHead(`HTTP/1.1 ${statusCode} ${statusText ?? ''}`, raw, NOT_RELAYED)}connection: close\r\n\r\n`);
    },
    onResponseData(_controller, chunk) {
      ex.bytesOut += chunk.length;
      socket.write(chunk);
    },
    onResponseEnd() {
      socket.end();
    },
    onResponseError(_controller, error) {
      if (upgraded) return;
      if (ex.status) {
        socket.destroy();
        return;
      }
      ex.upstreamError = (error as NodeJS.ErrnoException).code;
      const reason = reasonForUpstreamError(error, 'request');
      refuse(ctx, reason === 'upstream_reset' ? 'upgrade_failed' : reason);
    },
  };
  const headers = upstreamRequestHeaders(req, ex, runtime.edge, route.preserveHost ? undefined : chosen.host, policy);
  chosen.pool.dispatch({
    method: req.method as Dispatcher.HttpMethod,
    path: chosen.basePath + upstreamPath(resolved, policy),
    headers,
    upgrade: req.headers.upgrade ?? 'websocket',
    body: null,
    headersTimeout: route.upstream.config.timeouts.response,
  }, handler);
}

function pipeUpgraded(client: Duplex, upstream: Duplex, idleMs: number, ex: Exchange): void {
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('data', (c: Buffer) => { ex.bytesIn += c.length; });
  upstream.on('data', (c: Buffer) => { ex.bytesOut += c.length; });
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', close);
    (s as Duplex & { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(idleMs, close);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}
