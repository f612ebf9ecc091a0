/**
 * An in-memory worker for unit tests of the primary's side of the channel (src/process/channel.ts): it
 * delivers messages asynchronously and as structured clones, as the cluster IPC does with
 * `serialization: 'advanced'`, and it can exit.
 */
import type { FromWorker, ToWorker, WorkerLink } from '../../src/process/channel.ts';

export interface MemoryWorker extends WorkerLink {
  /** Every message the primary sent, in order. */
  readonly received: ToWorker[];
  /** Sends `message` to the primary, as the worker would. */
  reply(message: FromWorker): void;
  /** The worker exits: pending and later requests fail, its messages stop. */
  exit(): void;
  /** Handlers currently registered (listen and onGone), to check that nothing is left behind. */
  handlers(): number;
}

/** `behave` sees each message the worker receives (after the IPC hop) and may reply. */
export function memoryWorker(name: string, behave: (message: ToWorker, worker: MemoryWorker) => void = () => {}): MemoryWorker {
  const listeners = new Set<(message: FromWorker) => void>();
  const goneHandlers = new Set<(why: string) => void>();
  let gone = false;
  const worker: MemoryWorker = {
    name,
    received: [],
    send(message) {
      if (gone) return;
      worker.received.push(message);
      setImmediate(() => { if (!gone) behave(structuredClone(message), worker); });
    },
    listen(handler) {
      listeners.add(handler);
      return () => void listeners.delete(handler);
    },
    onGone(handler) {
      if (gone) {
        const tick = setImmediate(() => handler('exited'));
        return () => clearImmediate(tick);
      }
      goneHandlers.add(handler);
      return () => void goneHandlers.delete(handler);
    },
    reply(message) {
      setImmediate(() => {
        if (gone) return;
        for (const handler of [...listeners]) handler(structuredClone(message));
      });
    },
    exit() {
      gone = true;
      setImmediate(() => {
        for (const handler of [...goneHandlers]) handler('exited (code 1)');
        goneHandlers.clear();
      });
    },
    handlers: () => listeners.size + goneHandlers.size,
  };
  return worker;
}
