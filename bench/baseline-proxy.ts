/**
 * The benchmark's baseline: the least a correct reverse proxy does. A bare node:http server and ONE undici
 * Pool, built with Gatehouse's own poolOptions() from the same config file Gatehouse runs, forwarding every
 * request to that pool's target (both directions streamed, with backpressure) and removing hop-by-hop
 * headers (RFC 9110 §7.6.1, including those named in Connection) both ways. No routing, no IDs, no logging,
 * no timers. Keep it that way: it is the yardstick, never slow it down.
 *
 * Two ways to forward, one process each in the benchmark:
 * - `--api stream` (default): undici's `pool.stream`, as the core issue specified the baseline.
 * - `--api dispatch`: `pool.dispatch` with a minimal handler, the API Gatehouse itself uses. Measured on
 *   undici 8.12, `pool.stream` costs several µs more per request: its handler keeps a per-request abort
 *   closure, and after the first full GC under load every scavenge promotes ~6 MB (docs/performance.md).
 *   The benchmark judges Gatehouse against whichever of the two is cheaper in the run.
 *
 *   node bench/baseline-proxy.ts -c FILE [--port N] [--api stream|dispatch]
 *   uses the first target of the first upstream in FILE; prints {"msg":"listening","url":...} on stdout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import { formatProblem, loadConfigFile } from '../src/config/load.ts';
import { poolOptions } from '../src/upstream/pool-registry.ts';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

function connectionListed(value: string | undefined): string[] {
  if (!value) return [];
  return value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'close' && s !== 'keep-alive');
}

/** The client's raw headers minus hop-by-hop ones, as undici's flat [name, value, ...] list. */
function requestHeaders(raw: string[]): string[] {
  const out: string[] = [];
  let listed: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') listed = connectionListed(raw[i + 1]);
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (!listed?.length) return out;
  const drop = new Set(listed);
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!drop.has(out[i]!)) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Writes the upstream's status and headers, less hop-by-hop ones, to the client. */
function writeHead(res: http.ServerResponse, statusCode: number, headers: ResponseHeaders): void {
  const listed = connectionListed(typeof headers.connection === 'string' ? headers.connection : undefined);
  for (const name of HOP_BY_HOP) if (name in headers) delete headers[name];
  for (const name of listed) delete headers[name];
  res.writeHead(statusCode, headers as Record<string, string | string[]>);
}

function factory({ statusCode, headers, opaque }: Dispatcher.StreamFactoryData<http.ServerResponse>): http.ServerResponse {
  writeHead(opaque, statusCode, headers as ResponseHeaders);
  return opaque;
}

function fail(res: http.ServerResponse): void {
  if (res.headersSent) res.destroy();
  else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
}

function done(err: Error | null, { opaque: res }: { opaque: unknown }): void {
  if (err) fail(res as http.ServerResponse);
}

/** `--api dispatch`: the same forwarding through pool.dispatch, with backpressure both ways. */
class BaselineHandler implements Dispatcher.DispatchHandler {
  readonly #res: http.ServerResponse;
  #controller: Dispatcher.DispatchController | undefined;
  readonly #onDrain = () => this.#controller?.resume();

  constructor(res: http.ServerResponse) {
    this.#res = res;
    res.on('close', () => {
      if (!res.writableFinished) this.#controller?.abort(new Error('client closed'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    writeHead(this.#res, statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, _error: Error): void {
    fail(this.#res);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, port: { type: 'string', default: '0' }, api: { type: 'string', default: 'stream' } },
    strict: true,
  });
  if (!values.config || (values.api !== 'stream' && values.api !== 'dispatch')) throw new Error('usage: node bench/baseline-proxy.ts -c FILE [--port N] [--api stream|dispatch]');
  const viaDispatch = values.api === 'dispatch';
  const loaded = await loadConfigFile(values.config);
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const upstream = Object.values(loaded.config.upstreams)[0];
  const target = upstream?.targets[0];
  if (!upstream || !target) throw new Error(`${values.config}: no upstream target to forward to`);
  const url = new URL(target.url);
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const pool = new Pool(url.origin, poolOptions(target, upstream));

  const server = http.createServer((req, res) => {
    const headers = req.headers;
    const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
    const options = {
      method: req.method as Dispatcher.HttpMethod,
      path: basePath + req.url,
      headers: requestHeaders(req.rawHeaders),
      body: hasBody ? req : null,
      opaque: res,
    };
    if (viaDispatch) pool.dispatch(options, new BaselineHandler(res));
    else pool.stream(options, factory, done);
  });
  server.listen(Number(values.port), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}`, target: url.origin })}\n`);
  });
  const stop = () => {
    server.close();
    void pool.destroy().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
