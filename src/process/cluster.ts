/**
 * Multi-core serving with node:cluster, the primary's side. The primary forks N workers (re-running this
 * program, see worker.ts) that share the listening socket, and talks to them over the channel (channel.ts):
 * it sends the first config, applies every reload with prepare/commit (apply-config.ts), relays commands,
 * keeps each worker's latest snapshot and orders the drain. A worker that dies unexpectedly is logged and
 * replaced with the current config; its snapshot is dropped with it.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { mergeSnapshots, type GatewaySnapshot } from '../runtime/snapshot.ts';
import { applyConfig } from './apply-config.ts';
import { ask, clusterLink, failureOf, nextId, serialization, type WorkerLink } from './channel.ts';
import { listenerUrl } from './instance.ts';
import type { Workers } from './workers.ts';

const WORKER_START_TIMEOUT_MS = 15_000;
const APPLY_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 5_000;
/** How long a snapshot request waits for fresh reports; a worker that is slower is merged with its last one. */
const REPORT_TIMEOUT_MS = 500;

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

export async function startCluster(initial: Config, count: number, log: Logger): Promise<Workers> {
  let config = initial;
  let stopping = false;
  let started = false;
  let port = 0;
  let deaths: number[] = [];
  const links = new Map<Worker, WorkerLink>();
  /** Workers that serve the current config: the ones a reload and a command go to. */
  const serving = new Set<Worker>();
  const snapshots = new Map<Worker, GatewaySnapshot>();
  // Reloads and workers joining run one at a time, so a worker that started during a reload cannot miss it.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => {});
    return run;
  };
  const servingLinks = () => [...serving].map((w) => links.get(w)!);

  // A worker that keeps crashing is replaced with growing delays (up to 10 s), not in a tight fork loop.
  const respawnDelay = (): number => {
    const now = Date.now();
    deaths = [...deaths.filter((t) => now - t < 30_000), now];
    return deaths.length <= 1 ? 0 : Math.min(10_000, 250 * 2 ** (deaths.length - 2));
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    links.delete(worker);
    serving.delete(worker);
    snapshots.delete(worker);
    // A worker that cannot start with the first config would fail again if replaced: that fails the start.
    if (stopping || !started) return;
    const delayMs = respawnDelay();
    log.error({ workerPid: worker.process.pid, code, signal, delayMs }, 'worker died; starting a replacement');
    setTimeout(() => {
      if (stopping) return;
      spawn().catch((error: unknown) => log.error({ err: error }, 'replacement worker failed to start'));
    }, delayMs).unref();
  };

  const spawn = async (): Promise<void> => {
    const worker = cluster.fork({ GATEHOUSE_WORKER: '1' });
    const link = clusterLink(worker);
    links.set(worker, link);
    worker.on('exit', (code, signal) => onExit(worker, code, signal));
    link.listen((message) => {
      if (message.type === 'snapshot' && !worker.isDead()) snapshots.set(worker, message.snapshot);
    });
    await online(worker);
    const startedWith = config;
    port = (await ask(link, { type: 'config', config: startedWith }, WORKER_START_TIMEOUT_MS)).port;
    await exclusive(async () => {
      if (worker.isDead()) return;
      try {
        // A reload that ran while this worker started did not reach it: bring it up to date before it counts.
        if (startedWith !== config) await applyConfig([link], config, APPLY_TIMEOUT_MS);
        serving.add(worker);
      } catch (error) {
        // It serves an old config the others do not: it must not stay. Its exit starts a replacement.
        log.error({ err: error, workerPid: worker.process.pid }, 'a new worker could not apply the current config');
        worker.process.kill('SIGKILL');
      }
    });
  };

  cluster.setupPrimary({ serialization });
  try {
    await Promise.all(Array.from({ length: count }, spawn));
  } catch (error) {
    stopping = true;
    for (const w of links.keys()) w.process.kill('SIGKILL');
    throw error;
  }
  started = true;
  return {
    url: listenerUrl(config.listen.tls ? 'https' : 'http', config.listen.host, port),
    ready: () => serving.size === count,
    reload: (next) => exclusive(async () => {
      const { unconfirmed } = await applyConfig(servingLinks(), next, APPLY_TIMEOUT_MS);
      config = next;
      if (unconfirmed.length > 0) log.warn({ unconfirmed }, 'config committed, but not every worker confirmed it');
    }),
    async snapshot() {
      // Asking first makes the answer current; the replies land in `snapshots` through the listener above.
      await Promise.allSettled(servingLinks().map((link) => ask(link, { type: 'report', id: nextId() }, REPORT_TIMEOUT_MS)));
      return mergeSnapshots([...snapshots.values()]);
    },
    async command(command) {
      const targets = servingLinks();
      const id = nextId();
      const results = await Promise.allSettled(targets.map((link) => ask(link, { type: 'command', id, command }, COMMAND_TIMEOUT_MS)));
      const failure = targets.map((link, i) => failureOf(link, results[i]!)).find((f) => f !== undefined);
      if (failure !== undefined) throw new Error(failure);
    },
    async shutdown() {
      stopping = true;
      const workers = [...links.keys()];
      const exits = workers.map((w) => new Promise((resolve) => { if (w.isDead()) resolve(undefined); else w.once('exit', resolve); }));
      for (const [, link] of links) link.send({ type: 'drain' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(exits), new Promise((r) => { timer = setTimeout(r, config.server.drainTimeout + 5000); })]);
      clearTimeout(timer);
      for (const w of links.keys()) w.process.kill('SIGKILL');
      return { drained: links.size === 0 };
    },
  };
}
