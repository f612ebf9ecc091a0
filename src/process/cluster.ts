/**
 * Multi-core serving with node:cluster. The primary forks N workers (re-running this program) that share the
 * listening socket; it sends each worker the validated config, and later every reload and the drain order.
 * A worker that dies unexpectedly is logged and replaced with the current config.
 *
 * Messages, primary -> worker: {type:'config', config} | {type:'drain'};
 * worker -> primary: {type:'listening', port} | {type:'applied', ok, error?}.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { listenerUrl, startInstance } from './instance.ts';
import type { Workers } from './workers.ts';

type ToWorker = { type: 'config'; config: Config } | { type: 'drain' };
type FromWorker = { type: 'listening'; port: number } | { type: 'applied'; ok: boolean; error?: string };

const WORKER_START_TIMEOUT_MS = 15_000;

function waitFor<T extends FromWorker['type']>(worker: Worker, type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`worker ${worker.process.pid} did not answer "${type}" in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: FromWorker) => { if (m.type === type) finish(undefined, m as Extract<FromWorker, { type: T }>); };
    const onExit = (code: number | null) => finish(new Error(`worker ${worker.process.pid} exited (code ${code}) before answering "${type}"`));
    function finish(error?: Error, message?: Extract<FromWorker, { type: T }>) {
      clearTimeout(timer);
      worker.off('message', onMessage).off('exit', onExit);
      if (error) reject(error); else resolve(message!);
    }
    worker.on('message', onMessage).on('exit', onExit);
  });
}

export async function startCluster(initial: Config, count: number, log: Logger): Promise<Workers> {
  let config = initial;
  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  let port = 0;
  let deaths: number[] = [];

  // A worker that keeps crashing is replaced with growing delays (up to 10 s), not in a tight fork loop.
  const respawnDelay = (): number => {
    const now = Date.now();
    deaths = [...deaths.filter((t) => now - t < 30_000), now];
    return deaths.length <= 1 ? 0 : Math.min(10_000, 250 * 2 ** (deaths.length - 2));
  };

  const spawn = async (): Promise<Worker> => {
    const worker = cluster.fork({ GATEHOUSE_WORKER: '1' });
    workers.add(worker);
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      // A worker that cannot start with the first config would fail again if replaced: that fails the start.
      if (stopping || !started) return;
      const delayMs = respawnDelay();
      log.error({ workerPid: worker.process.pid, code, signal, delayMs }, 'worker died; starting a replacement');
      setTimeout(() => {
        if (stopping) return;
        spawn().catch((error: unknown) => log.error({ err: error }, 'replacement worker failed to start'));
      }, delayMs).unref();
    });
    await once(worker, 'online');
    worker.send({ type: 'config', config } satisfies ToWorker);
    const listening = await waitFor(worker, 'listening', WORKER_START_TIMEOUT_MS);
    port = listening.port;
    return worker;
  };

  try {
    await Promise.all(Array.from({ length: count }, spawn));
  } catch (error) {
    stopping = true;
    for (const w of workers) w.process.kill('SIGKILL');
    throw error;
  }
  started = true;
  return {
    url: listenerUrl(config.listen.tls ? 'https' : 'http', config.listen.host, port),
    ready: () => workers.size === count,
    async reload(next) {
      const answers = await Promise.all([...workers].map(async (w) => {
        w.send({ type: 'config', config: next } satisfies ToWorker);
        return waitFor(w, 'applied', WORKER_START_TIMEOUT_MS);
      }));
      const failed = answers.find((a) => !a.ok);
      if (failed) throw new Error(failed.error ?? 'a worker rejected the config');
      config = next;
    },
    async shutdown() {
      stopping = true;
      const exits = [...workers].map((w) => once(w, 'exit'));
      for (const w of workers) w.send({ type: 'drain' } satisfies ToWorker);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(exits), new Promise((r) => { timer = setTimeout(r, config.server.drainTimeout + 5000); })]);
      clearTimeout(timer);
      for (const w of workers) w.process.kill('SIGKILL');
      return { drained: workers.size === 0 };
    },
  };
}

/** The worker side: serve what the primary sends, until told to drain. */
export function runWorker(log: Logger): void {
  let instance: Awaited<ReturnType<typeof startInstance>> | undefined;
  const send = (m: FromWorker) => process.send?.(m);
  // Signals go to the primary, which orders the drain; a worker must not die on the terminal's Ctrl-C first.
  process.on('SIGINT', () => {}).on('SIGTERM', () => {}).on('SIGHUP', () => {});
  process.on('message', (m: ToWorker) => {
    if (m.type === 'config') {
      if (!instance) {
        startInstance(m.config, log).then((started) => {
          instance = started;
          send({ type: 'listening', port: started.address.port });
        }, (error: unknown) => {
          log.fatal({ err: error }, 'worker could not start');
          process.exit(1);
        });
        return;
      }
      try {
        instance.reload(m.config);
        send({ type: 'applied', ok: true });
      } catch (error) {
        send({ type: 'applied', ok: false, error: String(error) });
      }
    } else if (m.type === 'drain') {
      void (instance?.shutdown() ?? Promise.resolve()).then(() => process.exit(0));
    }
  });
}
