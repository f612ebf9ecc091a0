/**
 * Values shared by key and counted by holder (Caddy's usage pool), for state that must outlive a reload:
 * the first holder of a key creates the value, later ones (other routes, the next runtime) share it, and
 * the last lease released disposes it. A runtime that keeps a key across a reload acquires it before the
 * old runtime releases it, so the value stays.
 *
 * Each acquire returns its own lease, released at most once: a holder that releases twice cannot take a
 * reference that belongs to another, and a lease taken before closeAll() cannot touch a value created
 * under the same key after it.
 */
export interface Lease<V> {
  readonly value: V;
  /** Gives this holder's reference back; the last one disposes the value. Later calls do nothing. */
  release(): void;
}

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  refs: number;
}

export class SharedRegistry<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #dispose: (value: V) => unknown;

  /** `dispose` runs once per value, when its last lease is released or on closeAll(); a promise is not awaited on release. */
  constructor(dispose: (value: V) => unknown) {
    this.#dispose = dispose;
  }

  /**
   * A lease on the value for `key`, created with `create` if none is held. A key names one kind of value:
   * callers namespace their keys, which is what makes the cast to T sound.
   */
  acquire<T extends V>(key: string, create: () => T): Lease<T> {
    let entry = this.#entries.get(key);
    if (!entry) this.#entries.set(key, entry = { key, value: create(), refs: 0 });
    entry.refs++;
    let held = true;
    return {
      value: entry.value as T,
      release: () => {
        if (!held) return;
        held = false;
        this.#drop(entry);
      },
    };
  }

  /** The value held for `key`, without taking a lease. */
  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Every value held now. */
  values(): V[] {
    return [...this.#entries.values()].map((e) => e.value);
  }

  /** Disposes every value now, whoever holds it (process shutdown); waits for disposals that return promises. */
  async closeAll(): Promise<void> {
    const values = [...this.#entries.values()].map((e) => e.value);
    this.#entries.clear();
    // Every value is disposed even if one disposal throws; the async wrapper turns a throw into a rejection.
    await Promise.allSettled(values.map(async (value) => this.#dispose(value)));
  }

  #drop(entry: Entry<V>): void {
    if (this.#entries.get(entry.key) !== entry || --entry.refs > 0) return;
    this.#entries.delete(entry.key);
    this.#dispose(entry.value);
  }
}
