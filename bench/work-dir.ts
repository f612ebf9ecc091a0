/**
 * Where a run keeps its configs and the gateways' access logs.
 *
 * A full run's gateways write several GB of access log in ten minutes. On a disk, the kernel writes those
 * pages back while later targets are measured, and its flusher threads and the throttling of writers land on
 * the cores under test. In session 7's four full runs with the logs on ext4, every target got dearer round
 * by round, the baseline included (baseline-dispatch 26–28 µs in round 1, 30–40 µs later), and the variants
 * measured last in a round paid most. With the logs in RAM (tmpfs) the same targets stayed within ±2 % from
 * the first round to the last (docs/performance.md, "Session 7").
 *
 * A RAM-backed directory keeps the access log's whole cost to the gateway (encoding each line and writing it
 * into the page cache) and leaves out the writeback, which no single gateway causes at these rates. A TMPDIR
 * the user sets wins, so `TMPDIR=/var/tmp npm run bench` measures with the logs on that disk.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

const RAM_DIR = '/dev/shm';

/** `ramDir`: where RAM-backed storage is mounted (a parameter for the tests). */
export function workDirBase(env: NodeJS.ProcessEnv = process.env, ramDir = RAM_DIR): string {
  if (env.TMPDIR) return tmpdir();
  try {
    if (!statSync(ramDir).isDirectory()) return tmpdir();
    accessSync(ramDir, constants.W_OK);
    return ramDir;
  } catch {
    return tmpdir();
  }
}
