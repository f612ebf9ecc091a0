/**
 * A cluster worker: serves what the primary sends over the channel (channel.ts) and reports a snapshot of its
 * traffic and targets on its own at least once a second, and whenever asked. It answers every request, a
 * failure included, so the primary never waits for a timeout on a worker that is alive.
 *
 * A config is applied in two steps: `prepare` builds the runtime and keeps it under the request's id,
 * `commit` serves it, `discard` releases it. Signals go to the primary, which orders the drain.
 */
import type { Logger } from '../observability/logger.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { dispatch, type FromWorker, type ToWorker } from './channel.ts';
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
  const report = () => {
    if (instance) send({ type: 'snapshot', snapshot: instance.gateway.snapshot() });
  };

  return dispatch<ToWorker>({
    config({ config }) {
      if (instance) return void log.warn('a worker got a second first config; ignored');
      startInstance(config, log).then((started) => {
        instance = started;
        send({ type: 'listening', port: started.address.port });
        report();
        // unref: the interval alone must not keep a worker alive that has nothing else to do.
        reporting = setInterval(report, snapshotIntervalMs).unref();
      }, (error: unknown) => {
        log.fatal({ err: error }, 'worker could not start');
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
    report({ id }) {
      // Only a serving worker is asked; one that is not yet has nothing to report.
      if (instance) send({ type: 'snapshot', id, snapshot: instance.gateway.snapshot() });
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

/** The worker process: serve what the primary sends, until told to drain. */
export function runWorker(log: Logger): void {
  // Signals go to the primary, which orders the drain; a worker must not die on the terminal's Ctrl-C first.
  // SIGUSR2 too: the primary relays the reopen, and the signal's default action would end the worker.
  process.on('SIGINT', () => {}).on('SIGTERM', () => {}).on('SIGHUP', () => {}).on('SIGUSR2', () => {});
  process.on('message', workerSide({ send: (message) => process.send?.(message), log, exit: (code) => process.exit(code) }));
}
