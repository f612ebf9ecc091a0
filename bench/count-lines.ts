/**
 * Counts the lines of a file of any size, reading it in chunks: the benchmark's access log passes 512 MiB
 * on a fast run, more than one string can hold, so it is never read whole.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

/** The number of newline-terminated lines in `file` (0 when it does not exist). */
export function countLines(file: string, chunkBytes = 1 << 20): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(chunkBytes);
  let lines = 0;
  try {
    for (let got = readSync(fd, buf); got > 0; got = readSync(fd, buf)) {
      const chunk = buf.subarray(0, got);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}
