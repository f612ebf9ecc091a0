/**
 * Reads a client's request body whole, up to a bound, for a policy that must see it before any attempt
 * (Exchange.readBody). It stops at the first byte over the bound ('too_large': the caller refuses, and the
 * rest is never read), at the client going away ('aborted'), or at `idleMs` of silence ('timeout', the same
 * idle rule the attempts apply to an upload).
 */
import type { Readable } from 'node:stream';
import type { BodyRead } from '../pipeline/exchange.ts';

export function readWhole(source: Readable, maxBytes: number, idleMs: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead): void => {
      clearTimeout(timer);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onAbort);
      source.off('close', onAbort);
      if (result === 'too_large') source.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      timer.refresh();
      size += chunk.length;
      if (size > maxBytes) return done('too_large');
      chunks.push(chunk);
    };
    const onEnd = (): void => done(Buffer.concat(chunks, size));
    // 'close' before 'end' is a client that went away mid-upload.
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('timeout'), idleMs);
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onAbort);
    source.on('close', onAbort);
  });
}
