/**
 * Real HTTP upstreams for tests, on 127.0.0.1 port 0. Each records what it received (method, url, headers,
 * body size) and whether the request was aborted by the gateway, so tests can assert what an upstream saw.
 * Also a port with nothing listening, for targets that refuse connections.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  bodyBytes: number;
  /** True when the connection closed before the response finished (the gateway aborted the request). */
  aborted: boolean;
}

export interface FakeUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  readonly received: Received[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, received: Received) => void;

/** Answers 200 with JSON naming the upstream and echoing method, url and headers (after reading the body). */
export function echo(name: string): UpstreamHandler {
  return (req, res, received) => {
    req.on('data', (c: Buffer) => { received.bodyBytes += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: received.bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name });
      res.end(body);
    });
  };
}

let started = 0;

/** How many upstreams this process has started: mock-jwks.ts mocks no timers once real sockets may be about. */
export function upstreamsStarted(): number {
  return started;
}

export async function startUpstream(handler: UpstreamHandler = echo('upstream'), options: http.ServerOptions = {}): Promise<FakeUpstream> {
  started++;
  const received: Received[] = [];
  const server = http.createServer({ keepAliveTimeout: 5000, ...options }, (req, res) => {
    const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, aborted: false };
    received.push(r);
    res.on('close', () => { if (!res.writableFinished) r.aborted = true; });
    handler(req, res, r);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves once `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port nothing listens on: bound on 127.0.0.1, then released. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
