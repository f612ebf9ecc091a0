/**
 * The finish hooks: what runs once for every request when it ends, however it ended (an upstream answer, a
 * gateway refusal, a parser error, a timeout, a client abort, the close of an upgraded connection), right
 * after its access log line is written. Metrics, live statistics and traces register here.
 *
 * A hook observes; it must not throw. One that does is a bug: it is logged (at most once a minute per hook,
 * so a broken hook cannot flood the log) and the other hooks still run.
 */
import type { Logger } from '../observability/logger.ts';
import type { Exchange } from './exchange.ts';

export type FinishHook = (ex: Exchange) => void;

interface Registered {
  readonly hook: FinishHook;
  readonly name: string;
  lastErrorLogged: number;
}

export class FinishHooks {
  #hooks: readonly Registered[] = [];
  readonly #log: Logger;
  readonly #now: () => number;

  /** `now`: the clock the once-a-minute limit on error logs reads (ms; tests inject one). */
  constructor(log: Logger, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#now = now;
  }

  /** Registers a hook; returns its removal. `name` identifies it in the log if it throws. */
  add(name: string, hook: FinishHook): () => void {
    const entry: Registered = { hook, name, lastErrorLogged: -Infinity };
    // Copy on write: a hook added or removed while hooks run takes effect from the next request.
    this.#hooks = [...this.#hooks, entry];
    return () => {
      this.#hooks = this.#hooks.filter((h) => h !== entry);
    };
  }

  get size(): number {
    return this.#hooks.length;
  }

  run(ex: Exchange): void {
    const hooks = this.#hooks;
    for (let i = 0; i < hooks.length; i++) {
      const entry = hooks[i]!;
      try {
        entry.hook(ex);
      } catch (error) {
        this.#failed(entry, error, ex);
      }
    }
    const own = ex.finishers;
    if (own !== undefined) this.#runOwn(own, ex);
  }

  /** The request's own callbacks (Exchange.atFinish), guarded the same way. */
  #runOwn(own: ReadonlyArray<(ex: Exchange) => void>, ex: Exchange): void {
    for (const fn of own) {
      try {
        fn(ex);
      } catch (error) {
        this.#log.error({ err: error, requestId: ex.requestId }, 'a request\'s finish callback threw (a bug)');
      }
    }
  }

  #failed(entry: Registered, error: unknown, ex: Exchange): void {
    const now = this.#now();
    if (now - entry.lastErrorLogged < 60_000) return;
    entry.lastErrorLogged = now;
    this.#log.error({ err: error, hook: entry.name, requestId: ex.requestId }, 'a finish hook threw (a bug); further errors from it are logged at most once a minute');
  }
}
