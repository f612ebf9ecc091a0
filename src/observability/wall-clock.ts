/**
 * Wall-clock milliseconds for a performance.now() reading, so the request path reads one clock, not two.
 * The offset between the clocks is taken again when a second has passed since the last reading, so a clock
 * adjustment (NTP) shows up in the log within a second.
 */
import { monotonicNow } from './monotonic.ts';

let syncedAt = monotonicNow();
let offset = Date.now() - syncedAt;

export function wallClockMs(monotonicMs: number): number {
  if (monotonicMs - syncedAt > 1000) {
    syncedAt = monotonicNow();
    offset = Date.now() - syncedAt;
  }
  return Math.floor(offset + monotonicMs);
}
