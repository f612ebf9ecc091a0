/**
 * An upgraded connection (WebSocket or any other `Upgrade`): after the target answered 101 the client's and
 * the target's sockets are piped raw, both ways, with no framing parsed. Either side closing, failing or
 * staying silent for `idleMs` closes both; `closed` then runs once.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../pipeline/exchange.ts';

export function pipeTunnel(client: Duplex, upstream: Duplex, idleMs: number, ex: Exchange, closed: () => void): void {
  let open = true;
  const close = () => {
    client.destroy();
    upstream.destroy();
    if (!open) return;
    open = false;
    closed();
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

/** A response head as raw HTTP/1.1 text, from a status line and a flat [name, value, ...] list. */
export function rawHead(statusLine: string, headers: readonly string[]): string {
  let head = `${statusLine}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
