/** The benchmark's command-line flags (node:util parseArgs, strict: unknown flags are errors). */
import { parseArgs } from 'node:util';

export const usage = `node bench/run.ts [options]        (npm run bench -- [options])
  --rounds N        measured rounds per target (default 7)
  --duration S      seconds per target per round (default 5)
  --warmup S        warm-up seconds per target (default 3)
  --connections N   concurrent keep-alive client connections (default 32)
  --quick           smoke run: 2 rounds x 1 s, 1 s warm-up
  --nolog-variant   also run Gatehouse with the access log off (diagnostic: isolates the access log's cost)
  --no-features     skip the feature variants (bench/variants.ts: metrics off, breaker off, rate-limit
                    memory and redis, tracing at sampleRatio 1 and 0.01)
  --profile         run the proxies under --cpu-prof and summarise their hot spots (CPU figures then include
                    the profiler's overhead; the temp dir is kept)
  --gatehouse-flags "F"  extra Node/V8 flags for the Gatehouse processes only (diagnostic, e.g. GC experiments)
  --json FILE       also write the JSON summary to FILE
  --keep            keep the temp dir (configs, access log)`;

export interface Settings {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly connections: number;
  readonly nologVariant: boolean;
  /** Run the feature variants (bench/variants.ts). */
  readonly features: boolean;
  readonly profile: boolean;
  readonly json: string | undefined;
  readonly keep: boolean;
  readonly gatehouseFlags: readonly string[];
}

function intFlag(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, connections: { type: 'string' },
      quick: { type: 'boolean' }, 'nolog-variant': { type: 'boolean' }, 'no-features': { type: 'boolean' }, profile: { type: 'boolean' },
      json: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, 'gatehouse-flags': { type: 'string' },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  return {
    rounds: intFlag(values.rounds, '--rounds', quick ? 2 : 7, 1, 50),
    seconds: intFlag(values.duration, '--duration', quick ? 1 : 5, 1, 120),
    warmup: intFlag(values.warmup, '--warmup', quick ? 1 : 3, 0, 120),
    connections: intFlag(values.connections, '--connections', 32, 1, 1000),
    nologVariant: values['nolog-variant'] === true,
    features: values['no-features'] !== true,
    profile: values.profile === true,
    json: values.json,
    keep: values.keep === true,
    gatehouseFlags: (values['gatehouse-flags'] ?? '').split(' ').filter(Boolean),
  };
}
