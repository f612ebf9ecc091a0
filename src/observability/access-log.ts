/**
 * The access log: one JSON line per request, to stdout, stderr or a file, batched (batched-destination.ts)
 * so the hot path never waits on a write; flush() and close() write out the batch on reload and shutdown, so
 * the last lines are never lost, and reopen() follows a rotated file without losing one. Each line carries the
 * pid of the process that served it, which tells cluster workers apart when they share one log.
 *
 * The line has a fixed shape, so it is assembled directly rather than through pino (the process log's
 * library), and written byte by byte into the batch (json-bytes.ts) rather than built as a string: measured
 * in the benchmark, pino's generic serialiser cost ~2.5 µs per line, template strings plus Buffer.write
 * ~2.4 µs per request in the gateway process. Absent values are left out, as pino would.
 */
import { createBatchedDestination } from './batched-destination.ts';
import type { AccessRecord } from './access-record.ts';
import { wallClockMs } from './wall-clock.ts';
import { FieldCache } from './field-cache.ts';
import { asciiBytes, jsonStringBound, putBytes, putJsonString, putMillis, putUint } from './json-bytes.ts';

export interface AccessLogConfig {
  readonly enabled: boolean;
  readonly path: string;
}

export interface AccessLog {
  write(ex: AccessRecord): void;
  flush(): void;
  /** After rotation: writes out the batch to the old file, then appends to a file opened at the path again. */
  reopen(): void;
  close(): void;
}

/** What every line of one process starts with, up to the time's value. */
const lineHead = (pid: number): Uint8Array => asciiBytes(`{"log":"access","pid":${pid},"time":`);

// Each field's name with its punctuation (`,"status":`), written as one run of bytes.
const FIELDS = ['requestId', 'traceId', 'method', 'host', 'path', 'route', 'upstream', 'target', 'attempts', 'tries', 'status', 'reason', 'source',
  'bytesIn', 'bytesOut', 'durationMs', 'upstreamMs', 'clientIp', 'consumer', 'upstreamError'] as const;
const K = Object.fromEntries(FIELDS.map((name) => [name, asciiBytes(`,"${name}":`)])) as Readonly<Record<(typeof FIELDS)[number], Uint8Array>>;
const LINE_END = asciiBytes('}\n');

// Fields whose values come from a small set (the methods, the config's names, the reason catalogue) are kept
// encoded (field-cache.ts). Host is client-sent: its cache fills with the first hosts seen and stops there.
const METHOD = new FieldCache(K.method, 64);
const HOST = new FieldCache(K.host, 256);
const ROUTE = new FieldCache(K.route, 4096);
const UPSTREAM = new FieldCache(K.upstream, 4096);
const TARGET = new FieldCache(K.target, 4096);
const REASON = new FieldCache(K.reason, 1024);

/** Room for everything but the strings: the field names, six numbers of at most 20 characters, the newline. */
const FIXED_BOUND = 512;

const len = (value: string | undefined): number => (value === undefined ? 0 : value.length);

/** The most bytes the line for `ex` can take. */
function lineBound(ex: AccessRecord): number {
  return FIXED_BOUND + jsonStringBound(ex.requestId.length + ex.traceId.length + ex.method.length + len(ex.host) + ex.path.length
    + len(ex.route) + len(ex.upstream) + len(ex.target) + len(ex.reason) + len(ex.source) + ex.clientIp.length + len(ex.consumer) + len(ex.upstreamError)
    + (ex.tries === undefined ? 0 : triesLength(ex.tries)));
}

/** The length of `tries` as one comma-separated string. */
function triesLength(tries: readonly string[]): number {
  let length = tries.length;
  for (const entry of tries) length += entry.length;
  return length;
}

function putField(buf: Buffer, pos: number, key: Uint8Array, value: string | undefined): number {
  return value === undefined ? pos : putJsonString(buf, putBytes(buf, pos, key), value);
}

function putNumber(buf: Uint8Array, pos: number, key: Uint8Array, value: number): number {
  return putUint(buf, putBytes(buf, pos, key), value);
}

/**
 * Writes the line for `ex`, finished at `now` (performance.now()), at `pos`; returns the position after it.
 * Unrolled on purpose: a loop over a field table would make every property read a keyed, megamorphic one.
 */
function encodeLine(buf: Buffer, pos: number, ex: AccessRecord, head: Uint8Array, now: number): number {
  let p = putUint(buf, putBytes(buf, pos, head), wallClockMs(ex.start));
  p = putField(buf, p, K.requestId, ex.requestId);
  p = putField(buf, p, K.traceId, ex.traceId);
  p = METHOD.put(buf, p, ex.method);
  p = HOST.put(buf, p, ex.host);
  p = putField(buf, p, K.path, ex.path);
  p = ROUTE.put(buf, p, ex.route);
  p = UPSTREAM.put(buf, p, ex.upstream);
  p = TARGET.put(buf, p, ex.target);
  // Only after a retry: a request with one attempt pays this one check.
  if (ex.tries !== undefined) p = putField(buf, putNumber(buf, p, K.attempts, ex.attempts), K.tries, ex.tries.join(','));
  p = putNumber(buf, p, K.status, ex.status);
  p = REASON.put(buf, p, ex.reason);
  p = putField(buf, p, K.source, ex.source);
  p = putNumber(buf, p, K.bytesIn, ex.bytesIn);
  p = putNumber(buf, p, K.bytesOut, ex.bytesOut);
  p = putMillis(buf, putBytes(buf, p, K.durationMs), now - ex.start);
  if (ex.upstreamMs !== undefined) p = putMillis(buf, putBytes(buf, p, K.upstreamMs), ex.upstreamMs);
  p = putField(buf, p, K.clientIp, ex.clientIp);
  p = putField(buf, p, K.consumer, ex.consumer);
  p = putField(buf, p, K.upstreamError, ex.upstreamError);
  return putBytes(buf, p, LINE_END);
}

/** One access log line (with its newline) for a finished exchange, as a string (tests, tools). */
export function accessLine(ex: AccessRecord, pid: number, now = performance.now()): string {
  const buf = Buffer.allocUnsafe(lineBound(ex));
  return buf.toString('latin1', 0, encodeLine(buf, 0, ex, lineHead(pid), now));
}

export function createAccessLog(config: AccessLogConfig): AccessLog {
  if (!config.enabled) return { write() {}, flush() {}, reopen() {}, close() {} };
  const destination = createBatchedDestination(config.path);
  const head = lineHead(process.pid);
  const encode = (buf: Buffer, pos: number, ex: AccessRecord) => encodeLine(buf, pos, ex, head, ex.end);
  return {
    write(ex) {
      destination.write(lineBound(ex), encode, ex);
    },
    flush: destination.flush,
    reopen: destination.reopen,
    close: destination.close,
  };
}
