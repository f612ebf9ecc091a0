/**
 * undici Pools shared across reloads. A pool is keyed by its target URL and every option that shapes it, so
 * a reload that keeps a target unchanged keeps its warm connections; a pool whose last runtime released it
 * closes gracefully (undici's close() lets queued and in-flight requests finish first).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import type { TargetConfig, UpstreamConfig } from '../config/schema.ts';

interface Entry { pool: Pool; refs: number }

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
  readonly #entries = new Map<string, Entry>();

  /** Returns the shared pool for this target and options, creating it on first use. */
  acquire(target: TargetConfig, upstream: UpstreamConfig): { key: string; pool: Pool } {
    const options = poolOptions(target, upstream);
    const origin = new URL(target.url).origin;
    const key = `${origin} ${JSON.stringify(options)}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { pool: new Pool(origin, options), refs: 0 };
      this.#entries.set(key, entry);
    }
    entry.refs++;
    return { key, pool: entry.pool };
  }

  release(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry || --entry.refs > 0) return;
    this.#entries.delete(key);
    entry.pool.close().catch(() => entry.pool.destroy());
  }

  get size(): number {
    return this.#entries.size;
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#entries.values()].map((e) => e.pool);
    this.#entries.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }
}
