/**
 * What the admin listener reads and drives in the process that owns the workers. process/supervisor.ts
 * implements it; the types live here because the admin layer sits below the process layer.
 */
import type { ConfigDiff } from '../config/diff.ts';
import type { LoadResult } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';

/** The outcome of one reload, as GET /status shows the last one and POST /reload or POST /config answer. */
export interface ReloadResult {
  readonly ok: boolean;
  /** What started it: file, SIGHUP, admin (POST /reload) or admin-config (POST /config). */
  readonly trigger: string;
  /** When it finished, ISO 8601. */
  readonly at: string;
  /** "1 route added, 2 upstreams changed" when it applied; absent when it did not. */
  readonly summary?: string;
  readonly diff?: ConfigDiff;
  /** Why it did not apply: config problems as "line:col path: message" (file reloads: "FILE:line:col ..."), or the failure. */
  readonly errors: readonly string[];
  /** Why it failed: `invalid`, the config has problems (errors lists them); `apply`, a worker could not build or apply it. */
  readonly failure?: 'invalid' | 'apply';
}

export interface AdminState {
  /** A config is loaded, every worker serves and none drains. */
  ready(): boolean;
  /** Traffic and targets of every worker, merged. */
  snapshot(): Promise<GatewaySnapshot>;
  /** The config serving now. */
  config(): Config;
  /** How many worker processes serve (1 in-process). */
  workers(): number;
  /** When the process started, ms since the epoch. */
  readonly startedAt: number;
  /** The config file, when the config comes from one. */
  readonly configFile: string | undefined;
  /** The last reload (any trigger), or undefined before the first. */
  lastReload(): ReloadResult | undefined;
  /** Reloads from the config's source (the file), as SIGHUP does. */
  reload(): Promise<ReloadResult>;
  /** Validates YAML text as the source would a file (same env interpolation and command-line overrides). */
  check(text: string): LoadResult;
  /** Applies a validated config through the same path as a reload; nothing is written to disk. */
  apply(config: Config): Promise<ReloadResult>;
  /**
   * The target (its URL) the live balancer of `upstream` would pick now for hash key `key`, without taking
   * its turn; undefined when none is available, null when the live balancer cannot be asked (N workers).
   */
  peekTarget?(upstream: string, key: string | undefined): string | undefined | null;
}
