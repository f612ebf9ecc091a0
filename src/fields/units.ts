/**
 * Human units in config: durations ("250ms", "30s", "5m", "1h", or a number of milliseconds) and sizes
 * ("1MiB" = 2^20, "1MB" = 10^6, "512KiB", or a number of bytes). Both parse to integers. A duration that never
 * becomes a timer (HSTS max-age) may also be written in days ("180d") and may be longer than a timer can wait.
 */
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** Parses "1.5s" into 1500 ("2d" too when `days` is set); returns undefined for anything that is not a duration. */
export function parseDuration(input: string | number, days = false): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!m || (m[2] === 'd' && !days)) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

/** Parses "1MiB" into 1048576; returns undefined for anything that is not a size. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)\s*$/i.exec(input);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

/**
 * The accepted spellings as JSON Schema patterns (no flags there, so sizes spell out both cases), carried as
 * metadata into the config's JSON Schema so editors flag "30 sec" or "1 MB" while the user types. They only
 * describe: the parsers above decide, with their own messages.
 */
export const DURATION_PATTERN = String.raw`^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$`;
export const DAYS_DURATION_PATTERN = String.raw`^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$`;
export const SIZE_PATTERN = String.raw`^\s*\d+(\.\d+)?\s*([kKmMgG][iI]?[bB]|[bB])\s*$`;

/** The string or number a unit field takes, described for the JSON Schema (sizes are whole bytes). */
function unitInput(pattern: string, examples: string, numberType: 'number' | 'integer') {
  return z.union([
    z.string().meta({ pattern, description: `e.g. ${examples}` }),
    z.number().meta({ minimum: 0, type: numberType }),
  ]);
}

/** The longest duration a Node timer can wait. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A zod field for a duration; the parsed value is milliseconds. At most MAX_TIMER_MS, unless `days` is set:
 * then "d" is a unit too and any length is accepted, for a period that is never a timer (HSTS max-age).
 */
export function duration({ days = false } = {}) {
  const examples = days ? '"365d", "180d", "12h" or "0s"' : '"250ms", "30s", "5m", "1h"';
  return unitInput(days ? DAYS_DURATION_PATTERN : DURATION_PATTERN, examples, 'number').transform((value, ctx) => {
    const ms = parseDuration(value, days);
    // Days can overflow what a number holds exactly: that is no duration either.
    if (ms === undefined || (days && !Number.isSafeInteger(ms))) {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(value)}: use e.g. ${examples}` });
      return z.NEVER;
    }
    // Node fires a timer longer than 2^31-1 ms after 1 ms instead (TimeoutOverflowWarning).
    if (!days && ms > MAX_TIMER_MS) {
      ctx.addIssue({ code: 'custom', message: `duration ${JSON.stringify(value)} is too long: at most ${MAX_TIMER_MS}ms (about 24 days)` });
      return z.NEVER;
    }
    return ms;
  });
}

/** A zod field for a byte size; the parsed value is bytes. */
export function size() {
  return unitInput(SIZE_PATTERN, '"16KiB", "1MiB", "1MB"', 'integer').transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(value)}: use e.g. "16KiB", "1MiB", "1MB" or a number of bytes` });
      return z.NEVER;
    }
    return bytes;
  });
}
