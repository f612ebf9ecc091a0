/**
 * Gatehouse with one hot-path feature switched, so the benchmark prints what that feature costs per request
 * (each feature that touches the hot path gets one). A feature that is on by default gets a variant with it
 * off ('off': cost = gatehouse - variant); an opt-in feature gets one with it on ('on': cost = variant -
 * gatehouse). Costs are paired per round (the two ran back to back) and the median is printed.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { TargetName } from './report.ts';

/** YAML put into the generated config: under the bench upstream, under the bench route, at the top level. */
export interface ConfigParts {
  readonly upstream?: string;
  readonly route?: string;
  readonly top?: string;
}

/** Services the benchmark starts for the variants that need them ('' when none needs it). */
export interface Services {
  readonly redisUrl: string;
  /** An OTLP/HTTP collector that discards what it gets (bench/collector.ts). */
  readonly collectorUrl: string;
}

export interface FeatureVariant {
  readonly name: TargetName;
  /** The feature, as the report names it. */
  readonly feature: string;
  readonly mode: 'on' | 'off';
  /** The config parts, given the URLs of the services the variant needs. */
  readonly parts: (services: Services) => ConfigParts;
  readonly needsRedis?: boolean;
  readonly needsCollector?: boolean;
  /** A header every response of this variant must carry: proof the feature is on. */
  readonly proofHeader?: string;
}

// A limit no benchmark run reaches: every request is counted and admitted, none refused.
const NEVER_REACHED = 'limits: [{ name: bench, key: ip, limit: 1000000, window: 1s }]';

export const FEATURE_VARIANTS: readonly FeatureVariant[] = [
  {
    // Issue 13 prices metrics and live statistics together; the chain without them is what issue 10 judged.
    name: 'gatehouse-nometrics', feature: 'metrics + live stats (on by default)', mode: 'off',
    parts: () => ({ top: 'metrics: { enabled: false }\nliveStats: { enabled: false }\n' }),
  },
  {
    name: 'gatehouse-nobreaker', feature: 'circuit breaker (on by default)', mode: 'off',
    parts: () => ({ upstream: '    circuitBreaker: false\n' }),
  },
  {
    name: 'gatehouse-ratelimit', feature: 'rate-limit, memory store', mode: 'on', proofHeader: 'ratelimit',
    parts: () => ({ route: `    policies:\n      - { type: rate-limit, ${NEVER_REACHED} }\n` }),
  },
  {
    name: 'gatehouse-ratelimit-redis', feature: 'rate-limit, redis store', mode: 'on', proofHeader: 'ratelimit', needsRedis: true,
    parts: ({ redisUrl }) => ({
      route: `    policies:\n      - { type: rate-limit, store: redis, onStoreError: fail-closed, ${NEVER_REACHED} }\n`,
      // fail-closed makes any Redis failure a failed request, so the run cannot pass while measuring the
      // fallback; a generous commandTimeout keeps a busy shared machine from producing one.
      top: `redis: { url: "${redisUrl}", commandTimeout: 1s }\n`,
    }),
  },
  ...[1, 0.01].map((ratio): FeatureVariant => ({
    name: ratio === 1 ? 'gatehouse-tracing' : 'gatehouse-tracing-sampled', feature: `tracing, sampleRatio ${ratio}`, mode: 'on', needsCollector: true,
    parts: ({ collectorUrl }) => ({ top: `tracing: { enabled: true, endpoint: "${collectorUrl}/v1/traces", sampleRatio: ${ratio} }\n` }),
  })),
];

/** A loopback port free now, for redis-server (which needs one named). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The redis-server command line for the benchmark's Redis: loopback, nothing saved. */
export const redisCommand = (port: number): string[] =>
  ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'];
