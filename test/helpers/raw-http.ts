/**
 * HTTP/1.1 over a raw `net` socket, for tests that must control every byte a client sends (malformed heads,
 * smuggling attempts, slow clients, fuzz) and check every byte the gateway answers. `rawExchange` writes
 * the parts and collects the answer until the server closes, enough responses were parsed, or a bounded
 * timeout; `parseResponses` splits what came back into well-formed responses and reports the first byte
 * that is not one. Also the shared check for the gateway's own JSON error answer.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { reasons } from '../../src/observability/reasons.ts';

export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface Parsed {
  readonly responses: RawResponse[];
  /** Bytes after the last complete response (a response still arriving, or garbage). */
  readonly rest: Buffer;
  /** Why `rest` cannot be the start of a response, when it cannot. */
  readonly malformed: string | undefined;
}

const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Splits `data` into HTTP/1.1 responses, framed by Content-Length, chunked encoding or (when `eof`) the
 * connection close.
 */
function parseResponses(data: Buffer, eof: boolean): Parsed {
  const responses: RawResponse[] = [];
  let at = 0;
  const stop = (malformed?: string): Parsed => ({ responses, rest: data.subarray(at), malformed });
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) {
      // Not even a status line yet: fine while more may come, garbage once the server closed.
      const partial = data.subarray(at, Math.min(data.length, at + 9)).toString('latin1');
      if (!'HTTP/1.1 '.startsWith(partial) && !partial.startsWith('HTTP/1.1 ')) return stop(`not a status line: ${JSON.stringify(partial)}`);
      return stop(eof ? 'connection closed inside a response head' : undefined);
    }
    const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = STATUS_LINE.exec(statusLine!);
    if (!m) return stop(`malformed status line ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const h = HEADER_LINE.exec(line);
      if (!h) return stop(`malformed header line ${JSON.stringify(line)}`);
      headers[h[1]!.toLowerCase()] = h[2]!;
    }
    const status = Number(m[1]);
    let bodyStart = end + 4;
    let body: Buffer;
    const noBody = (status >= 100 && status < 200) || status === 204 || status === 304;
    if (noBody) {
      body = Buffer.alloc(0);
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const chunks: Buffer[] = [];
      let p = bodyStart;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p);
        if (lineEnd === -1) return stop(eof ? 'connection closed inside a chunked body' : undefined);
        const size = parseInt(data.subarray(p, lineEnd).toString('latin1').split(';')[0]!, 16);
        if (!Number.isInteger(size) || size < 0) return stop(`bad chunk size line at ${p}`);
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
          const direct = data.subarray(lineEnd, lineEnd + 4).equals(Buffer.from('\r\n\r\n'));
          if (!direct && trailerEnd === -1) return stop(eof ? 'connection closed inside a chunked trailer' : undefined);
          p = direct ? lineEnd + 4 : trailerEnd + 4;
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) return stop(eof ? 'connection closed inside a chunk' : undefined);
        chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
      bodyStart = p;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (!Number.isInteger(length) || length < 0) return stop(`bad content-length ${headers['content-length']}`);
      if (data.length - bodyStart < length) return stop(eof ? `body cut short: ${data.length - bodyStart} of ${length} bytes` : undefined);
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      // Delimited by the close.
      if (!eof) return stop();
      body = data.subarray(bodyStart);
      bodyStart = data.length;
    }
    responses.push({ statusLine: statusLine!, status, headers, body: body.toString('utf8') });
    at = bodyStart;
  }
  return stop();
}

export interface ExchangeOptions {
  /** Pause between parts, ms. */
  readonly gapMs?: number;
  /** Give up waiting after this long (the result then has timedOut: true). */
  readonly timeoutMs?: number;
  /** Resolve as soon as this many complete responses arrived (default: wait for the close). */
  readonly responses?: number;
  /** Half-close the connection after the last part. */
  readonly end?: boolean;
}

export interface ExchangeResult extends Parsed {
  /** Everything received. */
  readonly bytes: Buffer;
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
  readonly timedOut: boolean;
  /** ms from connect to the end of the exchange. */
  readonly elapsedMs: number;
  /** How many parts were written before the exchange ended. */
  readonly partsWritten: number;
}

/** Writes `parts` on a fresh connection to 127.0.0.1:`port` and collects the answer (see the file comment). */
export function rawExchange(port: number, parts: ReadonlyArray<string | Buffer>, options: ExchangeOptions = {}): Promise<ExchangeResult> {
  const { gapMs = 0, timeoutMs = 5000, responses: wanted, end = false } = options;
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = Buffer.alloc(0);
    let settled = false;
    let connectedAt = performance.now();
    let partsWritten = 0;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponses(data, closed), bytes: data, closed, timedOut, elapsedMs: performance.now() - connectedAt, partsWritten });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (wanted !== undefined && parseResponses(data, false).responses.length >= wanted) finish(false, false);
    });
    socket.on('end', () => finish(true, false));
    // The gateway may answer and close while the client is still writing: what it answered is what matters.
    socket.on('error', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('connect', async () => {
      connectedAt = performance.now();
      for (let i = 0; i < parts.length && !settled; i++) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (settled || socket.destroyed || !socket.writable) return;
        socket.write(parts[i]!);
        partsWritten++;
      }
      if (end && !settled && !socket.destroyed) socket.end();
    });
  });
}

/** One request, one well-formed response and no byte after it (fails with what arrived otherwise). */
export async function rawRequest(port: number, parts: ReadonlyArray<string | Buffer>, options: ExchangeOptions = {}): Promise<RawResponse> {
  const r = await rawExchange(port, parts, { responses: 1, ...options });
  const first = r.responses[0];
  const got = () => JSON.stringify(r.bytes.toString('latin1').slice(0, 300));
  if (!first) {
    throw new Error(`no complete response (${r.timedOut ? 'timed out' : 'connection closed'}${r.malformed ? `, ${r.malformed}` : ''}); got ${got()}`);
  }
  if (r.responses.length > 1 || r.rest.length > 0) throw new Error(`bytes after the response; got ${got()}`);
  return first;
}

/** A GET for `target` that closes the connection after the answer. */
export function get(target: string, extraHeaders = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${extraHeaders}Connection: close\r\n\r\n`;
}

export interface GatewayError {
  readonly error: { readonly status: number; readonly reason: string; readonly message: string; readonly requestId: string };
}

/** What `assertGatewayError` reads: a RawResponse, or an answer from node:http (helpers/e2e-process.ts). */
export interface AnyResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly body: string;
  readonly statusLine?: string;
}

/** A header's value as one string: repeated values joined, so that a duplicate shows. */
function headerOf(r: AnyResponse, name: string): string | undefined {
  const value = r.headers[name];
  return Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
}

/**
 * Asserts the gateway's own error answer: the status, the JSON body `{"error":{status, reason, message,
 * requestId}}` with `reason` (from the catalogue, its status matching), and X-Request-ID equal to requestId.
 */
export function assertGatewayError(r: AnyResponse, status: number, reason: string, what = ''): GatewayError {
  const label = `${what} -> ${r.statusLine ?? `HTTP/1.1 ${r.status}`} ${r.body.slice(0, 200)}`;
  assert.equal(r.status, status, label);
  assert.match(headerOf(r, 'content-type') ?? '', /^application\/json/, label);
  let parsed: GatewayError;
  try {
    parsed = JSON.parse(r.body) as GatewayError;
  } catch {
    assert.fail(`not JSON: ${label}`);
  }
  assert.deepEqual(Object.keys(parsed), ['error'], label);
  assert.deepEqual(Object.keys(parsed.error).sort(), ['message', 'reason', 'requestId', 'status'], label);
  assert.equal(parsed.error.reason, reason, label);
  assert.ok(parsed.error.reason in reasons, `${parsed.error.reason} is not in the catalogue`);
  assert.equal(reasons[reason as keyof typeof reasons].status, status, `${label}: the catalogue's status for ${reason}`);
  assert.equal(parsed.error.status, status, label);
  assert.equal(typeof parsed.error.message, 'string', label);
  assert.ok(parsed.error.message.length > 0, label);
  assert.ok(parsed.error.requestId.length > 0, label);
  assert.equal(headerOf(r, 'x-request-id'), parsed.error.requestId, `x-request-id header: ${label}`);
  return parsed;
}
