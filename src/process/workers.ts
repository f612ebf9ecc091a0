/**
 * The serving side of a gateway process, one name whatever the worker count: one in-process worker
 * (in-process.ts) or N node:cluster workers (cluster.ts). supervisor.ts starts it with startWorkers and
 * drives it. This file holds only the interface, so both implementations and the supervisor import it and
 * none imports another. Every operation means the same with 1 or N workers.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import type { LiveStats } from '../live/live-stats.ts';
import type { Command } from './channel.ts';
import type { BoundListener } from './instance.ts';

export interface Workers {
  /** Where clients reach the gateway listener. */
  readonly url: string;
  /** The gateway listener (and the redirect listener, when set) as bound: what the startup log shows. */
  readonly listeners: readonly BoundListener[];
  /** Every worker serves and none drains. */
  ready(): boolean;
  /** Applies `config` in every worker or in none; rejects with the reason when none. */
  reload(config: Config): Promise<void>;
  /** Traffic and targets of all workers, merged into one (snapshot.ts); `workers` says how many. */
  snapshot(): Promise<GatewaySnapshot>;
  /**
   * GET /metrics: the Prometheus text of `own` (this process's registry) and of every worker, merged into
   * one instance (metrics/instance-metrics.ts); with one worker `own` already holds everything.
   */
  metrics(own: Registry): Promise<string>;
  /**
   * The target URL the live balancer of `upstream` would pick next for hash key `key`, without taking its
   * turn (GET /explain); undefined when none is available. Absent with N workers: each has its own balancer.
   */
  peekTarget?(upstream: string, key: string | undefined): string | undefined | null;
  /** The live statistics of every worker: the gateway's own (one worker) or the workers' merged in the primary. */
  readonly live: LiveStats;
  /** Applies a command in every worker; rejects with the first worker's reason if one could not. */
  command(command: Command): Promise<void>;
  /** Drains every worker (bounded by server.drainTimeout) and stops them. */
  shutdown(): Promise<{ drained: boolean }>;
}
