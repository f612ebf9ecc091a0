/**
 * A cluster worker: serves what the primary sends over the channel (channel.ts) and reports a snapshot of its
 * traffic and targets on its own at least once a second, and whenever asked. It answers every request, a
 * failure included, so the primary never waits for a timeout on a worker that is alive.
 *
 * A config is applied in two steps: `prepare` builds the runtime and keeps it under the request's id,
 * `commit` serves it, `discard` releases it. Signals go to the primary, which orders the drain.
 */
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { ListenError } from '../server/listen.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Registry } from 'prom-client';
import { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { createRegistry } from '../metrics/process-metrics.ts';
import { dispatch, type FromWorker, type StartFailure, type ToWorker } from './channel.ts';
import { applyCommand } from './commands.ts';
import { startInstance, type Instance } from './instance.ts';

/** Well under the one second the primary may rely on, so a late timer tick still keeps the promise. */
const SNAPSHOT_INTERVAL_MS = 500;

export interface WorkerOptions {
  readonly send: (message: FromWorker) => void;
  readonly log: Logger;
  /** Called once the drain has finished (or the first config cannot be served: code 1). */
  readonly exit: (code: number) => void;
  readonly snapshotIntervalMs?: number;
}

/** The worker's message listener; runWorker wires it to process IPC, tests to an in-memory primary. */
export function workerSide({ send, log, exit, snapshotIntervalMs = SNAPSHOT_INTERVAL_MS }: WorkerOptions): (message: ToWorker) => void {
  let instance: Instance | undefined;
  let reporting: NodeJS.Timeout | undefined;
  let registry: Registry | undefined;
  const prepared = new Map<number, Runtime>();
  const serving = (): Instance => {
    if (!instance) throw new Error('the worker has no config yet');
    return instance;
  };
  /** Runs `apply` and answers `done` with its outcome. */
  const answer = (id: number, apply: () => void) => {
    try {
      apply();
      send({ type: 'done', id, ok: true });
    } catch (error) {
      send({ type: 'done', id, ok: false, error: String(error) });
    }
  };
  /** Sends a snapshot, with the metrics when asked and on (a failed metrics read still sends the snapshot). */
  const report = (id?: number, withMetrics = false) => {
    if (!instance) return;
    const snapshot = instance.gateway.snapshot();
    // The live statistics' completed seconds ride along: taken once here, sent once whatever follows.
    const live = instance.gateway.live.exportCompleted();
    const base = id === undefined ? { type: 'snapshot' as const, snapshot, live } : { type: 'snapshot' as const, id, snapshot, live };
    if (!registry || !withMetrics) return send(base);
    registry.getMetricsAsJSON().then((metrics) => send({ ...base, metrics }), (error: unknown) => {
      log.error({ err: error }, 'reading the worker\'s metrics failed');
      send(base);
    });
  };

  return dispatch<ToWorker>({
    config({ config }) {
      if (instance) return void log.warn('a worker got a second first config; ignored');
      startInstance(config, log).then((started) => {
        instance = started;
        if (config.metrics.enabled) new GatewayMetrics(started.gateway, registry = createRegistry());
        send({ type: 'listening', port: started.address.port, listeners: started.listeners });
        report();
        // unref: the interval alone must not keep a worker alive that has nothing else to do.
        reporting = setInterval(() => report(), snapshotIntervalMs).unref();
      }, (error: unknown) => {
        // A GatewayError is the user's to fix (a taken port): the primary prints it once for all workers.
        // Anything else is a bug, logged here with its stack.
        if (!(error instanceof GatewayError)) log.fatal({ err: error }, 'worker could not start');
        send({ type: 'listening', port: 0, listeners: [], failure: startFailure(error) });
        exit(1);
      });
    },
    prepare({ id, config }) {
      try {
        prepared.set(id, serving().gateway.prepare(config));
        send({ type: 'prepared', id, ok: true });
      } catch (error) {
        send({ type: 'prepared', id, ok: false, error: String(error) });
      }
    },
    commit: ({ id }) => answer(id, () => {
      const runtime = prepared.get(id);
      if (!runtime) throw new Error(`nothing was prepared as ${id}`);
      prepared.delete(id);
      serving().commit(runtime);
    }),
    discard: ({ id }) => answer(id, () => {
      const runtime = prepared.get(id);
      prepared.delete(id);
      if (runtime) serving().gateway.discard(runtime);
    }),
    report({ id, metrics }) {
      // Only a serving worker is asked; one that is not yet has nothing to report.
      report(id, metrics === true);
    },
    command: ({ id, command }) => answer(id, () => applyCommand(serving().gateway, command)),
    drain() {
      clearInterval(reporting);
      for (const runtime of prepared.values()) instance?.gateway.discard(runtime);
      prepared.clear();
      void (instance?.shutdown() ?? Promise.resolve()).then(() => exit(0));
    },
  });
}

function startFailure(error: unknown): StartFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ListenError) return { code: error.code, message, listener: error.listener, hostProblem: error.hostProblem };
  return { code: error instanceof GatewayError ? error.code : undefined, message };
}

/** How long a worker that could not start waits for the primary to end it, should the primary not. */
const FAILED_EXIT_DELAY_MS = 2000;

/** The worker process: serve what the primary sends, until told to drain. */
export function runWorker(log: Logger): void {
  // Signals go to the primary, which orders the drain; a worker must not die on the terminal's Ctrl-C first.
  // SIGUSR2 too: the primary relays the reopen, and the signal's default action would end the worker.
  process.on('SIGINT', () => {}).on('SIGTERM', () => {}).on('SIGHUP', () => {}).on('SIGUSR2', () => {});
  let sent = Promise.resolve();
  const send = (message: FromWorker) => {
    sent = new Promise((resolve) => process.send?.(message, undefined, undefined, () => resolve()) ?? resolve());
  };
  // A worker that could not start lets the primary, which now has the reason, end it: exiting at once could
  // let the primary see the exit before the message and report only "worker exited".
  const exit = (code: number) => void (code === 0 ? process.exit(0) : sent.then(() => setTimeout(() => process.exit(code), FAILED_EXIT_DELAY_MS)));
  process.on('message', workerSide({ send, log, exit }));
}
