/**
 * Resources that outlive one runtime and are shared by identity (Caddy's usage pool): the first policy that
 * asks for a key creates the resource, later ones (other routes, the next runtime after a reload) reuse it,
 * and it is closed when the last holder releases it. A reload that keeps a JWKS URL keeps its cached keys.
 */
export interface Closable {
  close(): void;
}

interface Entry {
  readonly value: Closable;
  refs: number;
}

export class SharedResources {
  readonly #entries = new Map<string, Entry>();

  /** Returns the resource for `key`, creating it with `create` if none is held; pair with release(key). */
  acquire<T extends Closable>(key: string, create: () => T): T {
    let entry = this.#entries.get(key);
    if (!entry) this.#entries.set(key, entry = { value: create(), refs: 0 });
    entry.refs++;
    return entry.value as T;
  }

  release(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    if (--entry.refs > 0) return;
    this.#entries.delete(key);
    entry.value.close();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Closes everything (process shutdown). */
  closeAll(): void {
    for (const entry of this.#entries.values()) entry.value.close();
    this.#entries.clear();
  }
}
