/**
 * Multi-core serving with node:cluster, the primary's side. The primary forks N workers (re-running this
 * program, see worker.ts) that share the listening socket, and talks to them over the channel (channel.ts):
 * it sends the first config, applies every reload with prepare/commit (apply-config.ts), relays commands,
 * keeps each worker's latest snapshot and orders the drain. A worker that dies unexpectedly is logged and
 * replaced with the current config; its snapshot is dropped with it. The active health checks run here, once
 * for all workers: each change goes to every serving worker as a command, and a worker that joins is sent
 * every target that is down.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import { InstanceMetrics } from '../metrics/instance-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import { HealthMonitor, type HealthChange } from '../upstream/health-monitor.ts';
import { mergeSnapshots, type GatewaySnapshot } from '../runtime/snapshot.ts';
import { LiveStats } from '../live/live-stats.ts';
import { applyConfig } from './apply-config.ts';
import { GatewayError } from '../errors.ts';
import { ListenError } from '../server/listen.ts';
import { ask, clusterLink, failureOf, nextId, serialization, type Command, type StartFailure, type WorkerLink } from './channel.ts';
import { listenerUrl, type BoundListener } from './instance.ts';
import type { Workers } from './workers.ts';

const WORKER_START_TIMEOUT_MS = 15_000;
const APPLY_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 5_000;
/** How long a snapshot request waits for fresh reports; a worker that is slower is merged with its last one. */
const REPORT_TIMEOUT_MS = 500;

/**
 * Node's flags for a worker: the primary's, plus --disable-sigusr1. SIGUSR1 would otherwise open the
 * inspector on 127.0.0.1:9229 in any worker a local process can signal; the primary has the flag only when it
 * was started through the bin or npm start, so it is added here whatever started the primary.
 */
export function workerExecArgv(primary: readonly string[]): string[] {
  return primary.includes('--disable-sigusr1') ? [...primary] : [...primary, '--disable-sigusr1'];
}

/** Resolves when the worker is online; rejects if it exits first (a crash while loading the program). */
function online(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onOnline = () => { worker.off('exit', onExit); resolve(); };
    const onExit = (code: number | null, signal: string | null) => {
      worker.off('online', onOnline);
      reject(new Error(`worker ${worker.process.pid} exited (${signal ? `signal ${signal}` : `code ${code}`}) before it was online`));
    };
    worker.once('online', onOnline).once('exit', onExit);
  });
}

/** The error a worker could not start with, rebuilt in the primary so it is reported as if it were its own. */
function startError(failure: StartFailure): Error {
  if (failure.listener) return new ListenError(failure.listener, failure.message, failure.hostProblem ?? false);
  return failure.code ? new GatewayError(failure.code, failure.message) : new Error(failure.message);
}

function healthCommand(change: HealthChange): Command {
  return { type: 'set-target-health', upstream: change.upstream, url: change.url, healthy: change.healthy, why: change.why };
}

export async function startCluster(config: Config, count: number, log: Logger): Promise<Workers> {
  const workers = new ClusterWorkers(config, count, log);
  await workers.start();
  return workers;
}

class ClusterWorkers implements Workers {
  readonly #count: number;
  readonly #log: Logger;
  readonly #listen: Config['listen'];
  #config: Config;
  #stopping = false;
  #started = false;
  #listeners: readonly BoundListener[] = [];
  #deaths: number[] = [];
  readonly #links = new Map<Worker, WorkerLink>();
  /** Workers that serve the current config: the ones a reload and a command go to. */
  readonly #serving = new Set<Worker>();
  readonly #snapshots = new Map<Worker, GatewaySnapshot>();
  /** The workers' live statistics, merged from their reports (each report carries its completed seconds). */
  readonly live = new LiveStats();
  readonly #metrics = new InstanceMetrics<Worker>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #health: HealthMonitor;

  constructor(config: Config, count: number, log: Logger) {
    this.#config = config;
    this.live.configure(config.routes);
    this.#listen = config.listen;
    this.#count = count;
    this.#log = log;
    this.#health = new HealthMonitor(log, (change) => {
      this.command(healthCommand(change)).catch((error: unknown) => this.#log.warn({ err: error, upstream: change.upstream, target: change.url }, 'a worker did not apply a health change'));
    });
  }

  get url(): string {
    return this.#listeners[0]?.url ?? listenerUrl(this.#listen.tls ? 'https' : 'http', this.#listen.host, 0);
  }

  /** As the first worker reported them: the workers share the primary's sockets, so each reports the same. */
  get listeners(): readonly BoundListener[] {
    return this.#listeners;
  }

  async start(): Promise<void> {
    cluster.setupPrimary({ serialization, execArgv: workerExecArgv(process.execArgv) });
    try {
      await Promise.all(Array.from({ length: this.#count }, () => this.#spawn()));
    } catch (error) {
      this.#stopping = true;
      for (const w of this.#links.keys()) w.process.kill('SIGKILL');
      throw error;
    }
    this.#started = true;
    this.#health.update(this.#config.upstreams);
  }

  ready(): boolean {
    return this.#serving.size === this.#count;
  }

  reload(next: Config): Promise<void> {
    return this.#exclusive(async () => {
      const { unconfirmed } = await applyConfig(this.#servingLinks(), next, APPLY_TIMEOUT_MS);
      this.#config = next;
      this.live.configure(next.routes);
      this.#health.update(next.upstreams);
      if (unconfirmed.length > 0) this.#log.warn({ unconfirmed }, 'config committed, but not every worker confirmed it');
    });
  }

  async snapshot(): Promise<GatewaySnapshot> {
    await this.#refresh(false);
    return mergeSnapshots([...this.#snapshots.values()]);
  }

  async metrics(own: Registry): Promise<string> {
    await this.#refresh(true);
    return this.#metrics.text(own);
  }

  /**
   * Asks every serving worker for a report, so the answer is current; the answers land in #snapshots and
   * #metrics through the listener #spawn adds. A worker that exits settles at once; one that hangs, at
   * REPORT_TIMEOUT_MS, and its last report is used.
   */
  async #refresh(metrics: boolean): Promise<void> {
    await Promise.allSettled(this.#servingLinks().map((link) => ask(link, { type: 'report', id: nextId(), metrics }, REPORT_TIMEOUT_MS)));
  }

  async command(command: Command): Promise<void> {
    const links = this.#servingLinks();
    const id = nextId();
    const results = await Promise.allSettled(links.map((link) => ask(link, { type: 'command', id, command }, COMMAND_TIMEOUT_MS)));
    const failure = links.map((link, i) => failureOf(link, results[i]!)).find((f) => f !== undefined);
    if (failure !== undefined) throw new Error(failure);
  }

  async shutdown(): Promise<{ drained: boolean }> {
    this.#stopping = true;
    await this.#health.close();
    const exits = [...this.#links.keys()].map((w) => new Promise((resolve) => { if (w.isDead()) resolve(undefined); else w.once('exit', resolve); }));
    for (const link of this.#links.values()) link.send({ type: 'drain' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exits), new Promise((r) => { timer = setTimeout(r, this.#config.server.drainTimeout + 5000); })]);
    clearTimeout(timer);
    for (const w of this.#links.keys()) w.process.kill('SIGKILL');
    return { drained: this.#links.size === 0 };
  }

  /** Runs reloads and workers joining one at a time, so a worker that started during a reload cannot miss it. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  #servingLinks(): WorkerLink[] {
    return [...this.#serving].map((w) => this.#links.get(w)!);
  }

  async #spawn(): Promise<void> {
    const worker = cluster.fork({ GATEHOUSE_WORKER: '1' });
    const link = clusterLink(worker);
    this.#links.set(worker, link);
    worker.on('exit', (code, signal) => this.#onExit(worker, code, signal));
    link.listen((message) => {
      if (message.type !== 'snapshot') return;
      // A dying worker's last seconds still happened: they count, only its snapshot is dropped.
      if (message.live) this.live.mergeExport(message.live);
      if (worker.isDead()) return;
      this.#snapshots.set(worker, message.snapshot);
      if (message.metrics) this.#metrics.update(worker, message.metrics);
    });
    await online(worker);
    const startedWith = this.#config;
    const answer = await ask(link, { type: 'config', config: startedWith }, WORKER_START_TIMEOUT_MS);
    if (answer.failure) {
      // The worker waits to be ended (worker.ts), so its exit never overtakes the reason it sent.
      worker.process.kill('SIGKILL');
      throw startError(answer.failure);
    }
    if (this.#listeners.length === 0) this.#listeners = answer.listeners;
    // It serves from now on: it must not wait for joining to hear which targets are down.
    this.#tellHealth(worker, link);
    await this.#exclusive(() => this.#join(worker, link, startedWith));
  }

  /** Counts a started worker as serving, once it serves the current config. */
  async #join(worker: Worker, link: WorkerLink, startedWith: Config): Promise<void> {
    if (worker.isDead()) return;
    try {
      // A reload that ran while this worker started did not reach it: bring it up to date before it counts.
      if (startedWith !== this.#config) await applyConfig([link], this.#config, APPLY_TIMEOUT_MS);
      this.#serving.add(worker);
      // Again in the same turn as joining (a change from now on reaches it with the others), in case one
      // happened, or a config was applied, since the first.
      this.#tellHealth(worker, link);
    } catch (error) {
      // It serves an old config the others do not: it must not stay. Its exit starts a replacement.
      this.#log.error({ err: error, workerPid: worker.process.pid }, 'a new worker could not apply the current config');
      worker.process.kill('SIGKILL');
    }
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.#links.delete(worker);
    this.#serving.delete(worker);
    this.#snapshots.delete(worker);
    this.#metrics.retire(worker);
    // A worker that cannot start with the first config would fail again if replaced: that fails the start.
    if (this.#stopping || !this.#started) return;
    const delayMs = this.#respawnDelay();
    this.#log.error({ workerPid: worker.process.pid, code, signal, delayMs }, 'worker died; starting a replacement');
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((error: unknown) => this.#log.error({ err: error }, 'replacement worker failed to start'));
    }, delayMs).unref();
  }

  /** Sends a worker every target the health checks have down (set-target-health is idempotent). */
  #tellHealth(worker: Worker, link: WorkerLink): void {
    for (const change of this.#health.down()) {
      ask(link, { type: 'command', id: nextId(), command: healthCommand(change) }, COMMAND_TIMEOUT_MS)
        .catch((error: unknown) => this.#log.warn({ err: error, workerPid: worker.process.pid }, 'a new worker did not apply a health state'));
    }
  }

  /** A worker that keeps crashing is replaced with growing delays (up to 10 s), not in a tight fork loop. */
  #respawnDelay(): number {
    const now = Date.now();
    this.#deaths = [...this.#deaths.filter((t) => now - t < 30_000), now];
    return this.#deaths.length <= 1 ? 0 : Math.min(10_000, 250 * 2 ** (this.#deaths.length - 2));
  }
}
