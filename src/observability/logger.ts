/**
 * The process log (startup, reloads, failures): JSON lines on stderr through pino, apart from the access log
 * on stdout so the two can be routed separately.
 *
 * Times are epoch milliseconds in `time`, as on every access log line (access-log.ts): one format, so lines
 * from both logs sort and join on one field. Epoch milliseconds rather than RFC 3339 because the access log
 * is the hot path and writes the number without formatting a date; pino's default does the same here.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.epochTime }, pino.destination({ dest: 2, sync: true }));
}
