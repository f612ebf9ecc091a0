/**
 * A pino destination that batches lines in memory and writes them in large chunks: when 64 KiB have
 * gathered, every 100 ms, and on flush/close. Each line is copied at once into one preallocated buffer, so the
 * line's string dies young (holding strings until the flush got them promoted and tripled GC time). Measured against sonic-boom's asynchronous small writes, which
 * woke a libuv thread every few requests on the proxy's own core and recounted its buffer on every line
 * (~6 µs per request), batching costs well under 1 µs per line.
 *
 * Writes are synchronous, one chunk at a time: a file write lands in the page cache, and on Linux stdout and
 * stderr writes are synchronous anyway, so order is kept and flush() really flushes. A write that fails
 * (disk full, closed pipe) drops that chunk and is reported once on stderr; the gateway keeps serving.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes into `buf` at `pos` (at most the announced number of bytes) and returns the position after it. */
export type Encoder<T> = (buf: Buffer, pos: number, item: T) => number;

export interface BatchedDestination {
  write(line: string): void;
  /**
   * Encodes one line straight into the batch: no string is built. `maxBytes` bounds what `encode` writes; a
   * line that could not fit even an empty batch is encoded into a buffer of its own and written at once.
   */
  writeEncoded<T>(maxBytes: number, encode: Encoder<T>, item: T): void;
  flush(): void;
  close(): void;
}

export function createBatchedDestination(path: string, maxBytes = 64 * 1024, intervalMs = 100): BatchedDestination {
  const fd = path === 'stdout' ? 1 : path === 'stderr' ? 2 : openFile(path);
  const batch = Buffer.allocUnsafe(maxBytes);
  let used = 0;
  let failed = false;
  let closed = false;
  const writeOut = (buf: Buffer, length: number) => {
    try {
      for (let off = 0; off < length;) off += writeSync(fd, buf, off, length - off);
    } catch (error) {
      if (!failed) process.stderr.write(`gatehouse: access log write to ${path} failed (${(error as Error).message}); lines are being dropped\n`);
      failed = true;
    }
  };
  const flush = () => {
    if (used === 0) return;
    const length = used;
    used = 0;
    writeOut(batch, length);
  };
  const timer = setInterval(flush, intervalMs).unref();
  const writeEncoded = <T>(bound: number, encode: Encoder<T>, item: T): void => {
    if (closed) return;
    if (used + bound > maxBytes) {
      flush();
      if (bound > maxBytes) {
        const own = Buffer.allocUnsafe(bound);
        return writeOut(own, encode(own, 0, item));
      }
    }
    used = encode(batch, used, item);
  };
  return {
    write(line) {
      writeEncoded(line.length * 3, writeUtf8, line);
    },
    writeEncoded,
    flush,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      flush();
      if (fd > 2) closeSync(fd);
    },
  };
}

const writeUtf8: Encoder<string> = (buf, pos, line) => pos + buf.write(line, pos);

function openFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}
