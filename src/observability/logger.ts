/**
 * The process log (startup, reloads, failures): JSON lines on stderr through pino, apart from the access log
 * on stdout so the two can be routed separately.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
