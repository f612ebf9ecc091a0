/**
 * The access log: one JSON line per request, to stdout, stderr or a file, batched (batched-destination.ts)
 * so the hot path never waits on a write; flush() and close() write out the batch on reload and shutdown, so
 * the last lines are never lost. Each line carries the pid of the process that served it, which tells cluster
 * workers apart when they share one log.
 *
 * The line has a fixed shape, so it is assembled directly rather than through pino (the process log's
 * library): measured in the benchmark, pino's generic serialiser cost ~2.5 µs per line, this ~0.7 µs. A
 * string of printable ASCII without `"` or `\` (nearly every value: IDs, IPs, names from the config, most
 * paths) is quoted as it is; any other goes through JSON.stringify, so escaping is JSON's own. Absent values
 * are left out, as pino would.
 */
import { createBatchedDestination } from './batched-destination.ts';
import type { Exchange } from '../server/exchange.ts';
import { wallClockMs } from './wall-clock.ts';

export interface AccessLogConfig {
  readonly enabled: boolean;
  readonly path: string;
}

export interface AccessLog {
  write(ex: Exchange): void;
  flush(): void;
  close(): void;
}

/** Needs no JSON escaping: printable ASCII except `"` and `\\`. A regular expression test is ~3x cheaper than JSON.stringify. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (name: string, value: string | undefined): string =>
  (value === undefined ? '' : PLAIN.test(value) ? `,"${name}":"${value}"` : `,"${name}":${JSON.stringify(value)}`);

/**
 * Milliseconds to the microsecond, as a JSON number. Built from integers: turning a fractional double into
 * text is V8's slow number-to-string path, small integers come from its cache.
 */
function ms(value: number): string {
  const us = Math.round(value * 1000);
  if (us < 0) return `${us / 1000}`;
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  return frac === 0 ? `${whole}` : `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

// Many requests share a millisecond: its text is made once.
let lastTime = 0;
let lastTimeText = '0';
function timeText(time: number): string {
  if (time !== lastTime) {
    lastTime = time;
    lastTimeText = `${time}`;
  }
  return lastTimeText;
}

/** One access log line (with its newline) for a finished exchange. */
export function accessLine(ex: Exchange, pid: number, now = performance.now()): string {
  return `{"log":"access","pid":${pid},"time":${timeText(wallClockMs(ex.start))}${str('requestId', ex.requestId)}${str('traceId', ex.traceId)}`
    + `${str('method', ex.method)}${str('host', ex.host)}${str('path', ex.path)}${str('route', ex.route)}`
    + `${str('upstream', ex.upstream)}${str('target', ex.target)},"status":${ex.status}${str('reason', ex.reason)}`
    + `,"bytesIn":${ex.bytesIn},"bytesOut":${ex.bytesOut},"durationMs":${ms(now - ex.start)}`
    + `${ex.upstreamMs === undefined ? '' : `,"upstreamMs":${ms(ex.upstreamMs)}`}${str('clientIp', ex.clientIp)}`
    + `${str('consumer', ex.consumer)}`
    + `${str('upstreamError', ex.upstreamError)}}\n`;
}

export function createAccessLog(config: AccessLogConfig): AccessLog {
  if (!config.enabled) return { write() {}, flush() {}, close() {} };
  const destination = createBatchedDestination(config.path);
  const pid = process.pid;
  return {
    write(ex) {
      destination.write(accessLine(ex, pid));
    },
    flush: destination.flush,
    close: destination.close,
  };
}
