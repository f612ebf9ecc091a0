/**
 * undici Pools shared across reloads. A pool is keyed by its target's identity (upstream, URL: the key its
 * state has too) and every option that shapes it, so a reload that keeps a target unchanged keeps its warm
 * connections; a pool whose last runtime released its
 * lease closes gracefully (undici's close() lets queued and in-flight requests finish first).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import type { TargetConfig, UpstreamConfig } from './upstream-schema.ts';
import { SharedRegistry, type Lease } from '../leases/shared-registry.ts';
import { targetKey } from './target-registry.ts';

export function poolOptions(target: TargetConfig, upstream: UpstreamConfig): Pool.Options {
  const url = new URL(target.url);
  const tls = upstream.tls;
  return {
    connections: target.maxConnections ?? upstream.maxConnections,
    keepAliveTimeout: upstream.keepAlive,
    keepAliveMaxTimeout: upstream.keepAlive,
    // Gatehouse enforces its own precise deadlines; undici's timers are a coarse backstop only.
    headersTimeout: 0,
    bodyTimeout: 0,
    pipelining: 1,
    connect: {
      timeout: upstream.timeouts.connect,
      ...(url.protocol === 'https:' ? {
        servername: tls?.servername ?? (isIp(url.hostname) ? undefined : url.hostname),
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        ...(tls?.ca ? { ca: [...rootCertificates, readFileSync(tls.ca, 'utf8')] } : {}),
      } : {}),
    },
  } as Pool.Options;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

export class PoolRegistry {
  // A pool that cannot close gracefully (already closing or destroyed) is destroyed rather than left open.
  readonly #pools = new SharedRegistry<Pool>((pool) => pool.close().catch(() => pool.destroy()));

  /** A lease on the shared pool for this target and options, created on first use. */
  acquire(upstreamName: string, target: TargetConfig, upstream: UpstreamConfig): Lease<Pool> {
    const options = poolOptions(target, upstream);
    const origin = new URL(target.url).origin;
    return this.#pools.acquire(`${targetKey(upstreamName, target.url)} ${JSON.stringify(options)}`, () => new Pool(origin, options));
  }

  get size(): number {
    return this.#pools.size;
  }

  closeAll(): Promise<void> {
    return this.#pools.closeAll();
  }
}
