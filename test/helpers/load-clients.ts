/**
 * Continuous load for process-level tests: N keep-alive connections (one undici Pool), each with one
 * request in flight at a time, until stopped. Every answer must be a 200 from an upstream (the `x-upstream`
 * header of helpers/fake-upstream.ts's echo, repeated in its body); anything else is a failure, recorded.
 * Bounded: each client stops after `maxMs` or `maxRequestsPerClient` even if nobody calls stop().
 */
import { Pool } from 'undici';

export interface Sample {
  readonly path: string;
  readonly sentAt: number;
  readonly doneAt: number;
  readonly upstream: string;
}

export interface LoadOptions {
  readonly connections: number;
  /** The path for a client's next request. */
  readonly nextPath: (client: number, i: number) => string;
  readonly maxMs?: number;
  readonly maxRequestsPerClient?: number;
}

export interface LoadResult {
  readonly total: number;
  readonly failures: string[];
  readonly samples: Sample[];
  /** Most keep-alive connections open at once, as undici counted them. */
  readonly maxConnected: number;
}

export interface Load {
  /** Requests completed so far (failed or not). */
  completed(): number;
  failures(): readonly string[];
  /** Stops every client after its current request; idempotent. */
  stop(): Promise<LoadResult>;
}

export function startLoad(url: string, options: LoadOptions): Load {
  const { connections, nextPath, maxMs = 120_000, maxRequestsPerClient = 1_000_000 } = options;
  const pool = new Pool(url, { connections, pipelining: 1 });
  const failures: string[] = [];
  const samples: Sample[] = [];
  const deadline = performance.now() + maxMs;
  let stopped = false;
  let total = 0;
  let maxConnected = 0;

  const one = async (path: string): Promise<void> => {
    const sentAt = performance.now();
    try {
      const { statusCode, headers, body } = await pool.request({ path, method: 'GET' });
      const text = await body.text();
      const upstream = headers['x-upstream'];
      const said = statusCode === 200 ? (JSON.parse(text) as { upstream?: string }).upstream : undefined;
      if (statusCode !== 200 || typeof upstream !== 'string' || said !== upstream) {
        failures.push(`${path}: status ${statusCode}, x-upstream ${String(upstream)}: ${text.slice(0, 200)}`);
      } else {
        samples.push({ path, sentAt, doneAt: performance.now(), upstream });
      }
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      failures.push(`${path}: ${e.code ?? ''} ${e.message}`);
    }
    total++;
    maxConnected = Math.max(maxConnected, pool.stats.connected);
  };

  const client = async (c: number): Promise<void> => {
    for (let i = 0; i < maxRequestsPerClient && !stopped && performance.now() < deadline; i++) await one(nextPath(c, i));
  };
  const running = Promise.all(Array.from({ length: connections }, (_, c) => client(c)));
  let stopping: Promise<LoadResult> | undefined;

  return {
    completed: () => total,
    failures: () => failures,
    stop() {
      stopped = true;
      stopping ??= running.then(() => pool.close()).then(() => ({ total, failures, samples, maxConnected }));
      return stopping;
    },
  };
}
