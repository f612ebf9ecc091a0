/**
 * V8 flags the gateway serves with. Under load a gateway allocates a few KB per request that die within the
 * request; with V8's default young generation some processes (about half, measured) fall into a mode where
 * every scavenge promotes ~10 MB of those short-lived objects, scavenges take 15-17 ms instead of <1 ms, and
 * CPU per request rises ~30 % (docs/performance.md). A 32 MB semi-space removed that mode in every measured
 * process. V8 reads heap sizes only at startup, so a serving process without the flag replaces itself
 * (process.execve: same PID, so signals, supervisors and cluster workers see one process) with one that has
 * it. Set GATEHOUSE_V8_FLAGS=off, or pass your own --max-semi-space-size, to keep V8's default.
 */
export const SERVING_FLAGS = ['--max-semi-space-size=32'];

export function ensureServingFlags(): void {
  const env = process.env;
  if (env.GATEHOUSE_V8_FLAGS === 'off' || typeof process.execve !== 'function' || process.platform === 'win32') return;
  const given = `${process.execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`;
  const missing = SERVING_FLAGS.filter((flag) => !given.includes(flag.slice(0, flag.indexOf('='))));
  if (missing.length === 0) return;
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], env);
}
