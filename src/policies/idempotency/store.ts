/**
 * Where the idempotency policy keeps its keys: an in-flight marker while the first request runs, then the
 * stored answer. One entry per key, in one of two states, in memory (one process) or in Redis (every
 * process and instance sharing it). A store that fails rejects its promise; the policy decides what that means.
 *
 * - claim: sets the marker only if the key is free (Redis: SET NX PX inside one script, so a duplicate
 *   atomically gets the entry that beat it instead), with a short life (the route's timeout plus 5 s), so a
 *   process that crashes mid-request cannot lock a key for a day.
 * - save: replaces the entry with the answer, for `ttl`.
 * - release: deletes the marker, only if it is still this request's (its token), so the client can retry.
 */
import { LRUCache } from 'lru-cache';
import type { Closable } from '../../leases/shared-resources.ts';
import type { SharedRedis } from '../../redis/shared-redis.ts';

export interface StoredAnswer {
  readonly status: number;
  /** [name, value, ...], lower-case names, without X-Request-ID and Content-Length. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export type Entry =
  | { readonly state: 'pending'; readonly hash: string; readonly token: string }
  | { readonly state: 'done'; readonly hash: string; readonly answer: StoredAnswer };

export interface IdempotencyStore {
  /** 'claimed' when the key was free and is now this request's; otherwise the entry that holds it. */
  claim(key: string, hash: string, token: string, pendingMs: number): Promise<'claimed' | Entry>;
  save(key: string, hash: string, answer: StoredAnswer, ttlMs: number): Promise<void>;
  release(key: string, token: string): Promise<void>;
}

/**
 * One process's store, leased by its bound across routes and reloads (a reload keeps markers and answers).
 * Bounded by bytes (least recently used out first); an evicted marker frees its key early.
 */
export class MemoryStore implements IdempotencyStore, Closable {
  readonly #entries: LRUCache<string, Entry>;

  constructor(maxBytes: number, perf?: { now(): number }) {
    this.#entries = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => 256 + (entry.state === 'done' ? entry.answer.body.length + headerBytes(entry.answer.headers) : 0),
      ...(perf === undefined ? {} : { perf }),
    });
  }

  claim(key: string, hash: string, token: string, pendingMs: number): Promise<'claimed' | Entry> {
    const held = this.#entries.get(key);
    if (held !== undefined) return Promise.resolve(held);
    this.#entries.set(key, { state: 'pending', hash, token }, { ttl: pendingMs });
    return Promise.resolve('claimed');
  }

  save(key: string, hash: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    this.#entries.set(key, { state: 'done', hash, answer }, { ttl: ttlMs });
    return Promise.resolve();
  }

  release(key: string, token: string): Promise<void> {
    const held = this.#entries.get(key);
    if (held?.state === 'pending' && held.token === token) this.#entries.delete(key);
    return Promise.resolve();
  }

  close(): void {
    this.#entries.clear();
  }
}

// SET NX PX, and on failure the entry that holds the key, in one step: no window in which it could vanish.
const CLAIM = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;
// Deletes the marker only while it is still this request's (a marker that expired may have been claimed again).
const RELEASE = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'p' and string.find(v, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0`;

interface IdempotencyCommands {
  gatehouseIdempotencyClaim(key: string, marker: string, pendingMs: number): Promise<string | null>;
  gatehouseIdempotencyRelease(key: string, token: string): Promise<number>;
}

/**
 * Entries in Redis, one string key each: a marker is `p` + JSON {hash, token}; an answer is `d` + JSON
 * {hash, status, headers, body (base64)}. ioredis runs the scripts by EVALSHA and loads them on NOSCRIPT.
 */
export class RedisStore implements IdempotencyStore {
  readonly #redis: SharedRedis;

  constructor(redis: SharedRedis) {
    this.#redis = redis;
    redis.client.defineCommand('gatehouseIdempotencyClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.client.defineCommand('gatehouseIdempotencyRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  get #commands(): IdempotencyCommands {
    return this.#redis.client as unknown as IdempotencyCommands;
  }

  async claim(key: string, hash: string, token: string, pendingMs: number): Promise<'claimed' | Entry> {
    const held = await this.#commands.gatehouseIdempotencyClaim(key, `p${JSON.stringify({ hash, token })}`, Math.ceil(pendingMs));
    return held === null ? 'claimed' : parseEntry(held);
  }

  async save(key: string, hash: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    const value = `d${JSON.stringify({ hash, status: answer.status, headers: answer.headers, body: answer.body.toString('base64') })}`;
    await this.#redis.client.set(key, value, 'PX', Math.ceil(ttlMs));
  }

  async release(key: string, token: string): Promise<void> {
    await this.#commands.gatehouseIdempotencyRelease(key, token);
  }
}

function parseEntry(value: string): Entry {
  const data = JSON.parse(value.slice(1)) as { hash: string; token?: string; status?: number; headers?: string[]; body?: string };
  if (value[0] === 'p') return { state: 'pending', hash: data.hash, token: data.token ?? '' };
  return { state: 'done', hash: data.hash, answer: { status: data.status!, headers: data.headers!, body: Buffer.from(data.body!, 'base64') } };
}

function headerBytes(headers: readonly string[]): number {
  let n = 0;
  for (const h of headers) n += h.length;
  return n;
}
