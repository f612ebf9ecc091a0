/**
 * Runs the active health checks of one gateway instance: in the primary when there are workers, in the one
 * process otherwise (src/process/). Each checked target gets its own undici Client (one connection, never
 * the data plane's pool) and its own interval timer. Every change of side is logged once, published on
 * `events`, and handed to `onChange`, which tells the serving gateway(s).
 *
 * update() follows the lifecycle rule after each applied config: a target whose upstream keeps the same
 * healthCheck keeps its counts; a changed healthCheck (or a target removed) starts again from healthy, and a
 * target that was down is reported up (the gateways reset it themselves on commit; repeating it closes the
 * window where a check finished between their commit and this call).
 */
import { Client } from 'undici';
import type { Logger } from '../observability/logger.ts';
import { checkOnce, HealthCount, type HealthCheckConfig } from './health-check.ts';
import { poolOptions } from './pool-registry.ts';
import { targetKey } from './target-registry.ts';
import { describeEvent, TargetEvents, type TargetEvent } from './target-events.ts';
import type { UpstreamConfig } from './upstream-schema.ts';

/** A change of side: what the serving gateways apply (channel.ts set-target-health). */
export interface HealthChange {
  readonly upstream: string;
  readonly url: string;
  readonly healthy: boolean;
  readonly why: string;
}

interface Checked {
  readonly upstream: string;
  readonly url: string;
  /** healthCheck and TLS settings: a change of the former resets the count, of either rebuilds the client. */
  readonly checkKey: string;
  readonly clientKey: string;
  readonly config: HealthCheckConfig;
  readonly count: HealthCount;
  readonly client: Client;
  readonly path: string;
  readonly timer: NodeJS.Timeout;
  running: boolean;
  stopped: boolean;
}

export class HealthMonitor {
  readonly events: TargetEvents;
  readonly #log: Logger;
  readonly #onChange: (change: HealthChange) => void;
  readonly #checked = new Map<string, Checked>();

  constructor(log: Logger, onChange: (change: HealthChange) => void) {
    this.#log = log;
    this.#onChange = onChange;
    this.events = new TargetEvents((error) => log.error({ err: error }, 'a target event listener failed'));
  }

  /** Targets checked now. */
  get size(): number {
    return this.#checked.size;
  }

  /** Every target currently down, to bring a replacement worker up to date. */
  down(): HealthChange[] {
    return [...this.#checked.values()].filter((c) => !c.count.healthy).map((c) => ({ upstream: c.upstream, url: c.url, healthy: false, why: 'down before this worker started' }));
  }

  /** Checks what `upstreams` asks for from now on (call it after each applied config). */
  update(upstreams: Readonly<Record<string, UpstreamConfig>>): void {
    const wanted = new Set<string>();
    for (const [name, upstream] of Object.entries(upstreams)) {
      const check = upstream.healthCheck;
      if (check === undefined) continue;
      const checkKey = JSON.stringify(check);
      for (const target of upstream.targets) {
        const key = targetKey(name, target.url);
        wanted.add(key);
        const options = poolOptions(target, upstream);
        const clientKey = JSON.stringify(options.connect);
        const old = this.#checked.get(key);
        if (old && old.checkKey === checkKey && old.clientKey === clientKey) continue;
        const count = old && old.checkKey === checkKey ? old.count : new HealthCount(check);
        if (old) this.#stop(old, old.checkKey !== checkKey);
        this.#start(name, target.url, check, checkKey, clientKey, count, options.connect);
      }
    }
    for (const [key, checked] of this.#checked) {
      if (!wanted.has(key)) this.#stop(checked, true);
    }
  }

  close(): Promise<void> {
    const closing = [...this.#checked.values()].map((c) => this.#stop(c, false));
    return Promise.all(closing).then(() => {});
  }

  #start(upstream: string, url: string, config: HealthCheckConfig, checkKey: string, clientKey: string, count: HealthCount, connect: unknown): void {
    const parsed = new URL(url);
    const base = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
    const client = new Client(parsed.origin, { connect: connect as NonNullable<Client.Options['connect']>, pipelining: 1, keepAliveTimeout: 1000, headersTimeout: 0, bodyTimeout: 0 });
    const checked: Checked = {
      upstream, url, checkKey, clientKey, config, count, client, path: base + config.path, running: false, stopped: false,
      timer: setInterval(() => void this.#check(checked), config.interval).unref(),
    };
    this.#checked.set(targetKey(upstream, url), checked);
    void this.#check(checked);
  }

  /** Stops checking; `reset`: the target leaves the monitor's view, so one that was down is reported up. */
  #stop(checked: Checked, reset: boolean): Promise<void> {
    checked.stopped = true;
    clearInterval(checked.timer);
    const key = targetKey(checked.upstream, checked.url);
    if (this.#checked.get(key) === checked) this.#checked.delete(key);
    if (reset && !checked.count.healthy) this.#change(checked, true, 'after its health check changed or ended');
    return checked.client.destroy().catch(() => {});
  }

  async #check(checked: Checked): Promise<void> {
    // A check slower than the interval is not overlapped by the next one.
    if (checked.running || checked.stopped) return;
    checked.running = true;
    const result = await checkOnce(checked.client, checked.path, checked.config);
    checked.running = false;
    if (checked.stopped) return;
    const why = checked.count.record(result.passed, result.detail);
    if (why !== undefined) this.#change(checked, result.passed, why);
  }

  #change(checked: Checked, healthy: boolean, why: string): void {
    const event: TargetEvent = { kind: 'health', upstream: checked.upstream, url: checked.url, state: healthy ? 'up' : 'down', time: Date.now(), why };
    const fields = { upstream: event.upstream, target: event.url, state: event.state, why };
    if (healthy) this.#log.info(fields, describeEvent(event));
    else this.#log.warn(fields, describeEvent(event));
    this.events.emit(event);
    this.#onChange({ upstream: checked.upstream, url: checked.url, healthy, why });
  }
}
