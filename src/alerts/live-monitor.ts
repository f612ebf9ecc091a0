/**
 * The once-a-second heartbeat of the live statistics, run once per gateway (in the primary with workers, in
 * the one process without): it reads the targets, evaluates the alert rules over the (merged) windows, and
 * publishes a `stats` event with everything the dashboard shows — the last second and the last minute,
 * overall, per route and per upstream, the targets, the latest errors and the alerts — to the /events
 * subscribers. Alert transitions are published as they happen, as `alert` events.
 *
 * A tick that is still running (a worker slow to report its targets) is not overlapped: the next one skips.
 */
import type { ErrorEntry } from '../live/error-tail.ts';
import type { WindowTotals } from '../live/live-stats.ts';
import { windowStats, type WindowStats } from '../live/scope-stats.ts';
import type { Logger } from '../observability/logger.ts';
import type { TargetSnapshot } from '../runtime/snapshot.ts';
import type { ActiveAlert, AlertEngine, AlertEvent } from './alert-engine.ts';

/** What the monitor reads the windows and errors from (LiveStats). */
export interface LiveSource {
  window(seconds: number, nowMs?: number): WindowTotals;
  readonly errors: { latest(): ErrorEntry[] };
}

export interface StatsEvent {
  /** ISO time of the evaluation. */
  readonly time: string;
  readonly second: WindowStats;
  readonly minute: WindowStats;
  readonly targets: readonly TargetSnapshot[];
  /** Latest errors, newest first. */
  readonly errors: readonly ErrorEntry[];
  readonly alerts: { readonly active: readonly ActiveAlert[]; readonly recent: readonly AlertEvent[] };
}

export type MonitorEvent = { readonly type: 'stats'; readonly data: StatsEvent } | { readonly type: 'alert'; readonly data: AlertEvent };

export interface MonitorOptions {
  readonly live: LiveSource;
  readonly targets: () => Promise<readonly TargetSnapshot[]>;
  readonly engine: AlertEngine;
  readonly log: Logger;
  /** Wall-clock ms; tests drive it. */
  readonly now?: () => number;
  readonly intervalMs?: number;
}

export class LiveMonitor {
  readonly #options: MonitorOptions;
  readonly #now: () => number;
  readonly #subscribers = new Set<(event: MonitorEvent) => void>();
  readonly #unsubscribeAlerts: () => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #latest: StatsEvent | undefined;

  constructor(options: MonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unsubscribeAlerts = options.engine.subscribe((data) => this.#publish({ type: 'alert', data }));
  }

  get engine(): AlertEngine {
    return this.#options.engine;
  }

  /**
   * Ticks every second while there is someone to tick for: a rule to evaluate or a client on /events. Each
   * tick merges a minute of sketches and reads every worker's targets; an idle gateway with neither (most
   * of them, and each of the benchmark's processes) spares its core that work.
   */
  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.#options.engine.size > 0 || this.#subscribers.size > 0) void this.tick();
    }, this.#options.intervalMs ?? 1000).unref();
  }

  /** One evaluation and one stats event; resolves when both are done (tests await it). */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const targets = await this.#options.targets().catch((error: unknown) => {
        this.#options.log.error({ err: error }, 'reading the targets for the live statistics failed');
        return [] as TargetSnapshot[];
      });
      const now = this.#now();
      const { live, engine } = this.#options;
      const windows = new Map<number, WindowTotals>();
      const window = (seconds: number) => {
        let totals = windows.get(seconds);
        if (totals === undefined) windows.set(seconds, (totals = live.window(seconds, now)));
        return totals;
      };
      engine.evaluate({ window, targets, now });
      this.#latest = {
        time: new Date(now).toISOString(), second: windowStats(window(1)), minute: windowStats(window(60)), targets,
        errors: live.errors.latest(), alerts: { active: engine.active(), recent: engine.recent().slice(0, 20) },
      };
      this.#publish({ type: 'stats', data: this.#latest });
    } catch (error) {
      this.#options.log.error({ err: error }, 'the live statistics tick failed (a bug)');
    } finally {
      this.#running = false;
    }
  }

  /** The last stats event (undefined before the first tick). */
  get latest(): StatsEvent | undefined {
    return this.#latest;
  }

  subscribe(listener: (event: MonitorEvent) => void): () => void {
    // Without rules the ticks stopped with the last subscriber: the stats kept from then are stale.
    if (this.#subscribers.size === 0 && this.#options.engine.size === 0) this.#latest = undefined;
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  #publish(event: MonitorEvent): void {
    for (const listener of this.#subscribers) {
      try {
        listener(event);
      } catch (error) {
        this.#options.log.error({ err: error }, 'a live statistics subscriber failed');
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribeAlerts();
    this.#subscribers.clear();
  }
}
