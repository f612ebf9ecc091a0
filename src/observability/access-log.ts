/**
 * The access log: one JSON line per request through pino, to stdout, stderr or a file. Writes are buffered
 * asynchronously (pino.destination with sync: false) so the hot path never waits on the disk; flush() and
 * close() drain the buffer on reload and shutdown, so the last lines are never lost. Each line carries the
 * pid of the process that served it, which tells cluster workers apart when they share one log.
 */
import pino from 'pino';
import type { Exchange } from '../server/exchange.ts';

export interface AccessLogConfig {
  readonly enabled: boolean;
  readonly path: string;
}

export interface AccessLog {
  write(ex: Exchange): void;
  flush(): void;
  close(): void;
}

function destinationFor(path: string) {
  if (path === 'stdout') return pino.destination({ dest: 1, sync: false, minLength: 0 });
  if (path === 'stderr') return pino.destination({ dest: 2, sync: false, minLength: 0 });
  return pino.destination({ dest: path, sync: false, mkdir: true, minLength: 4096 });
}

export function createAccessLog(config: AccessLogConfig): AccessLog {
  if (!config.enabled) return { write() {}, flush() {}, close() {} };
  const destination = destinationFor(config.path);
  const logger = pino({ base: { pid: process.pid }, timestamp: false, formatters: { level: () => ({ log: 'access' }) } }, destination);
  return {
    write(ex) {
      logger.info({
        time: ex.time,
        requestId: ex.requestId,
        traceId: ex.traceId,
        method: ex.method,
        host: ex.host,
        path: ex.path,
        route: ex.route,
        upstream: ex.upstream,
        target: ex.target,
        status: ex.status,
        reason: ex.reason,
        bytesIn: ex.bytesIn,
        bytesOut: ex.bytesOut,
        durationMs: Math.round((performance.now() - ex.start) * 1000) / 1000,
        upstreamMs: ex.upstreamMs === undefined ? undefined : Math.round(ex.upstreamMs * 1000) / 1000,
        clientIp: ex.clientIp,
        upstreamError: ex.upstreamError,
      });
    },
    flush() {
      try { destination.flushSync(); } catch { /* not ready yet: nothing buffered */ }
    },
    close() {
      this.flush();
      if (config.path !== 'stdout' && config.path !== 'stderr') destination.end();
    },
  };
}
