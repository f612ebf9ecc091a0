/**
 * Runs a gateway process: loads the config, serves it (in this process, or through N cluster workers),
 * reloads on file change and SIGHUP (logging what changed), reopens the access log file on SIGHUP and SIGUSR2
 * (log rotation), drains on SIGTERM/SIGINT, and serves the admin listener.
 *
 * With workers > 1 the primary owns config loading and watching; workers only serve what they are sent
 * (cluster.ts). Everything a worker holds is per worker: upstream pools, in-flight counts, balancer
 * positions; the primary sees them through the snapshots the workers report, merged.
 */
import { isDeepStrictEqual } from 'node:util';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type http from 'node:http';
import { createAdminServer } from '../admin/admin-server.ts';
import type { AdminState, ReloadResult } from '../admin/admin-state.ts';
import { configDiff, summarize } from '../config/diff.ts';
import { formatProblem, type LoadResult } from '../config/load.ts';
import { workerCount } from '../config/worker-count.ts';
import type { Config } from '../config/schema.ts';
import { watchPaths } from '../config/watch.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { bind, ListenError } from '../server/listen.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import { startCluster } from './cluster.ts';
import type { ConfigSource, ListenHints } from './config-source.ts';
import { startInProcess } from './in-process.ts';
import { boundListener, type BoundListener } from './instance.ts';
import type { Workers } from './workers.ts';
import type { Registry } from 'prom-client';
import { createRegistry, ReloadMetrics } from '../metrics/process-metrics.ts';
import { metricsResource } from '../admin/metrics-resource.ts';
import { alertsResource } from '../admin/alerts-resource.ts';
import { eventsResource } from '../admin/events-resource.ts';
import { AlertEngine } from '../alerts/alert-engine.ts';
import { LiveMonitor } from '../alerts/live-monitor.ts';
import { WebhookSender } from '../alerts/webhooks.ts';

/** What started a reload, as logged: a change of the config file, SIGHUP, or the admin API (POST /reload, POST /config). */
export type ReloadTrigger = 'file' | 'SIGHUP' | 'admin' | 'admin-config';

/** A running gateway process: its workers, the admin listener, config reloads and the drain. */
export interface GatewayProcess {
  readonly url: string;
  readonly adminUrl: string | undefined;
  /** Reloads from the source; resolves true if the new config is serving. The trigger is logged. */
  reload(trigger?: ReloadTrigger): Promise<boolean>;
  /** Every worker reopens its access log file (after rotation); resolves true if all did. */
  reopenLogs(): Promise<boolean>;
  /** Traffic and targets of every worker, merged: the same shape with 1 or N workers (GET /snapshot). */
  snapshot(): Promise<GatewaySnapshot>;
  /** The live statistics' heartbeat and the alert rules (GET /events, GET /alerts). */
  readonly monitor: LiveMonitor;
  shutdown(): Promise<void>;
}

/**
 * The alert rules, evaluated once for the whole gateway (here, over the workers' merged windows) every
 * second, with their webhooks.
 */
function startMonitor(config: Config, workers: Workers, log: Logger): { monitor: LiveMonitor; webhooks: WebhookSender } {
  const webhooks = new WebhookSender(log);
  const engine = new AlertEngine(log, webhooks, hostname());
  engine.configure(config.alerts, config.routes);
  // The windows' own clock (performance.timeOrigin + now), not Date.now(): the two drift apart over days,
  // and the current second must be the one the buckets are counted in.
  const live = workers.live;
  const monitor = new LiveMonitor({ live, targets: async () => (await workers.snapshot()).targets, engine, log, now: () => live.now() });
  monitor.start();
  return { monitor, webhooks };
}

/** The longest startup waits for the config watcher's initial scan (a single file takes milliseconds). */
const WATCH_READY_MS = 2000;

function startWorkers(config: Config, log: Logger, registry: Registry | undefined): Promise<Workers> {
  const n = workerCount(config.workers);
  return n > 1 ? startCluster(config, n, log) : startInProcess(config, log, registry);
}

/** A bind failure, completed with the key or flag that moves the listener; other errors unchanged. */
function withHint(error: unknown, hints: ListenHints): unknown {
  if (!(error instanceof ListenError)) return error;
  const hint = hints[error.listener][error.hostProblem ? 'host' : 'port'];
  return new ListenError(error.listener, `${error.message}; change ${hint}`, error.hostProblem, { cause: error.cause });
}

/** The startup log's account of what is bound: one warning per listener other machines can reach. */
export function logListeners(log: Logger, listeners: readonly BoundListener[]): void {
  for (const l of listeners.filter((x) => x.exposed)) {
    const where = l.everyInterface ? 'every interface' : 'a non-loopback address';
    log.warn({ listener: l.name, address: l.address, exposed: true }, `${l.name} listener on ${l.address} listens on ${where}: other machines can reach it`);
  }
}

export async function runGateway(source: ConfigSource, log: Logger, handleSignals = true): Promise<GatewayProcess> {
  const first = await source.load();
  if (!first.ok) throw new GatewayError('GW_ERR_CONFIG_INVALID', first.problems.map(formatProblem).join('\n'));
  let config = first.config;
  // metrics.enabled is read here only: a reload that changes it is logged as taking effect on restart.
  const registry = config.metrics.enabled ? createRegistry() : undefined;
  const reloads = registry && new ReloadMetrics(registry);
  const workers = await startWorkers(config, log, registry).catch((error: unknown) => { throw withHint(error, source.hints); });
  let draining = false;
  let admin: http.Server | undefined;
  const listeners = [...workers.listeners];
  const startedAt = Date.now();
  const startedWorkers = workerCount(config.workers);
  let lastReload: ReloadResult | undefined;
  const { monitor, webhooks } = startMonitor(config, workers, log);
  if (config.admin.enabled) {
    const state: AdminState = {
      ready: () => !draining && workers.ready(),
      snapshot: () => workers.snapshot(),
      config: () => config,
      // `workers` takes effect on restart: the count running is the one started with.
      workers: () => startedWorkers,
      startedAt,
      configFile: source.file,
      lastReload: () => lastReload,
      reload: () => queue('admin', () => source.load()),
      check: (text) => source.parse(text),
      apply: (next) => queue('admin-config', async () => ({ ok: true, config: next })),
      ...(workers.peekTarget ? { peekTarget: workers.peekTarget.bind(workers) } : {}),
    };
    const extra = [...(registry ? [metricsResource(() => workers.metrics(registry))] : []), eventsResource(monitor), alertsResource(monitor.engine)];
    admin = createAdminServer(state, log, { token: config.admin.token, extra });
    try {
      const bound = await bind(admin, 'admin', config.admin.port, config.admin.host);
      listeners.push(boundListener('admin', 'http', bound.address, bound.port));
    } catch (error) {
      // Without this the process would report the failure yet keep serving on the main listener.
      monitor.close();
      webhooks.close();
      await workers.shutdown();
      throw withHint(error, source.hints);
    }
  }
  const adminUrl = listeners.find((l) => l.name === 'admin')?.url;

  // Restart-only settings are compared with what this process started with, not with the last reload: a
  // port set back to the running value needs no restart.
  const started = config;
  let reloading: Promise<unknown> = Promise.resolve();
  const failed = (trigger: ReloadTrigger, failure: 'invalid' | 'apply', errors: string[]): ReloadResult =>
    (lastReload = { ok: false, trigger, at: new Date().toISOString(), errors, failure });
  const reloadOnce = async (trigger: ReloadTrigger, load: () => Promise<LoadResult>): Promise<ReloadResult> => {
    const next = await load();
    if (!next.ok) {
      reloads?.record('invalid');
      const problems = next.problems.map(formatProblem);
      log.error({ trigger, problems }, 'config reload rejected: the previous config keeps serving');
      return failed(trigger, 'invalid', problems);
    }
    // One atomic save can reach the watcher as two events further apart than its debounce on a busy machine
    // (the file's change, and its directory's rename): the second finds the config it already serves.
    if (trigger === 'file' && isDeepStrictEqual(next.config, config)) {
      log.debug({ trigger }, 'config file event: the config is unchanged');
      return { ok: true, trigger, at: new Date().toISOString(), summary: 'no changes', errors: [] };
    }
    try {
      await workers.reload(next.config);
    } catch (error) {
      reloads?.record('failed');
      log.error({ trigger, err: error }, 'config reload failed: the previous config keeps serving');
      return failed(trigger, 'apply', [error instanceof Error ? error.message : String(error)]);
    }
    const diff = configDiff(config, next.config);
    const pending = new Set(configDiff(started, next.config).restart);
    for (const key of diff.restart) {
      if (pending.has(key)) log.warn({ key, trigger }, `${key} changes take effect on restart`);
      else log.info({ key, trigger }, `${key} is back to the running value: no restart needed`);
    }
    config = next.config;
    monitor.engine.configure(config.alerts, config.routes);
    reloads?.record('success');
    const { routes, upstreams, policies } = diff;
    // The message stays 'config reloaded' for whoever matches on it; the trigger and the diff are fields.
    log.info({ trigger, summary: summarize(diff), routes, upstreams, policies }, 'config reloaded');
    return (lastReload = { ok: true, trigger, at: new Date().toISOString(), summary: summarize(diff), diff, errors: [] });
  };
  // Reloads run one at a time, in order: a burst of saves (or admin calls) never interleaves two swaps.
  const queue = (trigger: ReloadTrigger, load: () => Promise<LoadResult>): Promise<ReloadResult> => {
    const run = reloading.then(() => reloadOnce(trigger, load));
    reloading = run.then((r) => r.ok, () => false);
    return run;
  };
  const reload = (trigger: ReloadTrigger = 'admin') => queue(trigger, () => source.load()).then((r) => r.ok);
  const watching = Promise.withResolvers<void>();
  const stopWatching = source.file === undefined ? undefined : watchPaths(source.file, () => void reload('file'), {
    onReady: watching.resolve,
    onError: (error) => log.error({ err: error }, 'watching the config file failed'),
    // Without this a deleted file went unnoticed; the next save (or SIGHUP) after it is back reloads.
    onRemoved: () => log.warn({ config: source.file }, 'config file removed: the running config keeps serving'),
  });

  const reopenLogs = async (): Promise<boolean> => {
    try {
      await workers.command({ type: 'reopen-logs' });
    } catch (error) {
      log.error({ err: error }, 'reopening the access log failed: lines go to the file opened before');
      return false;
    }
    const { enabled, path } = config.log.access;
    // stdout and stderr are only flushed: nothing was reopened, so nothing is claimed.
    if (enabled && path !== 'stdout' && path !== 'stderr') log.info({ path }, 'access log reopened');
    return true;
  };

  let stopping: Promise<void> | undefined;
  const shutdown = () => stopping ??= (async () => {
    draining = true;
    log.info('draining');
    // Stop accepting first; closing the watcher meanwhile must not leave a window where new connections land.
    const stopped = workers.shutdown();
    await stopWatching?.();
    const { drained } = await stopped;
    monitor.close();
    webhooks.close();
    if (admin) {
      // Event streams never end by themselves: close them so the admin listener can.
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    }
    log.info({ drained }, drained ? 'stopped' : 'stopped (drain timeout passed with requests in flight)');
    detachSignals();
  })();

  // Reopen before reloading: the reload waits for the new runtime, and the rotated file should stop growing now.
  const onHup = () => void reopenLogs().then(() => reload('SIGHUP'));
  const onUsr2 = () => void reopenLogs();
  const onStop = () => void shutdown().then(() => process.exit(0));
  const detachSignals = () => {
    process.off('SIGHUP', onHup).off('SIGUSR2', onUsr2).off('SIGTERM', onStop).off('SIGINT', onStop);
  };
  if (handleSignals) process.on('SIGHUP', onHup).on('SIGUSR2', onUsr2).on('SIGTERM', onStop).on('SIGINT', onStop);
  // A save made before the watcher's first scan ends is never seen: whoever edits the file after the line
  // below must be heard. Bounded, so a watcher that never gets ready cannot hold startup.
  if (stopWatching) await Promise.race([watching.promise, sleep(WATCH_READY_MS, undefined, { ref: false })]);
  // Last: whoever waits for this line may signal the process at once, and until the handlers above are
  // attached SIGHUP's (and SIGUSR2's) default action ends it.
  logListeners(log, listeners);
  log.info({ url: workers.url, adminUrl, listeners, workers: workerCount(config.workers), config: source.file }, 'gateway listening');
  return { url: workers.url, adminUrl, reload, reopenLogs, snapshot: () => workers.snapshot(), monitor, shutdown };
}
