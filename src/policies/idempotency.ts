/**
 * idempotency (Stripe's convention): the first answer to a request with an Idempotency-Key is stored and
 * every repeat gets it again, so a client that retries a POST after a timeout never runs it twice.
 *
 * - Keyed by (identity; key; method; route); identity is the consumer, else the token's subject, else a hash
 *   of the Authorization presented, else the client IP. Methods not in `methods`, and requests without the
 *   header, pass untouched.
 * - The body is read whole (up to `maxBody`) and hashed before anything is forwarded; larger bodies are
 *   refused with 413 idempotency_body_too_large (hashing while streaming would let the upstream act on a
 *   request whose duplicate check is still open). The attempts then send the buffered bytes.
 * - Claimed with an in-flight marker that lives the route's timeout plus 5 s. A duplicate meanwhile gets 409
 *   idempotency_in_progress; the same key with another body 422 idempotency_key_mismatch.
 * - The answer (any status, 5xx included) is captured while it streams and stored for `ttl` before its last
 *   byte is released. The key is released instead when no attempt reached an upstream (connect failure, a
 *   gateway refusal) or the answer is over `maxBody`. An answer that never completed (client gone, upstream
 *   broke off mid-body) is neither: its marker expires.
 * - Store unreachable at the claim: 503 idempotency_unavailable (never forwarded unprotected). At the save
 *   or release: logged; the marker expires.
 * - Replays are content replies (source "idempotency-replay") with `Idempotent-Replayed: true`.
 * - The memory store is one per process (per bound), shared by routes and kept across reloads.
 * - Upgrades pass untouched (their body cannot be read ahead). docs/idempotency.md has the whole story.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { duration, size } from '../fields/units.ts';
import { HTTP_METHODS } from '../fields/http-fields.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { contentReply, reply, type LocalReply } from '../pipeline/local-reply.ts';
import { definePolicy, type PolicyDeps } from '../pipeline/policy.ts';
import type { ResponseHead } from '../pipeline/response-head.ts';
import { CaptureBody } from './idempotency/capture.ts';
import { sha256, storeKey, validKey } from './idempotency/key.ts';
import { MemoryStore, RedisStore, type IdempotencyStore } from './idempotency/store.ts';

export const schema = z.strictObject({
  store: z.enum(['memory', 'redis']).default('memory').describe('Where keys are kept: memory (this process only; a config error with workers > 1) or redis (shared by every process and instance; needs the top-level redis: section).'),
  ttl: duration({ days: true }).prefault('24h').describe('How long a stored answer is replayed, e.g. "24h".'),
  maxBody: size().prefault('1MiB').describe('Largest response stored (larger ones are sent but not stored, and the key is released); also the largest request body accepted with an Idempotency-Key (larger gets 413 idempotency_body_too_large).'),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).default(['POST', 'PATCH']).describe('Methods the policy covers; other requests pass untouched.'),
});

export const SOURCE = 'idempotency-replay';
/** The in-flight marker outlives the route's timeout by this much, then a crashed request's key is free again. */
const MARKER_GRACE_MS = 5000;
/** Memory store bound: 64 MiB, or 16 answers of maxBody when that is more. */
const MEMORY_FLOOR = 64 * 2 ** 20;
/** Headers the replay sets itself. */
const NOT_STORED = new Set(['x-request-id', 'content-length', 'idempotent-replayed']);

type Step = 'claimed' | 'answering' | 'settling' | 'settled';
interface Claim { readonly key: string; readonly hash: string; readonly token: string; step: Step }

export const idempotency = definePolicy({
  type: 'idempotency',
  priority: 10,
  kind: 'filter',
  schema,
  doc: 'Stores the first answer to a request with an Idempotency-Key (any status, up to maxBody) for ttl and replays it to repeats with Idempotent-Replayed: true; a duplicate in flight gets 409 idempotency_in_progress, the key reused with another body 422 idempotency_key_mismatch. Runs last among the request policies but request-termination (after auth, so it keys on the consumer) and first on the response (it stores the upstream\'s head as sent). See docs/idempotency.md.',
  create(config, deps) {
    const bound = Math.max(MEMORY_FLOOR, 16 * config.maxBody);
    const lease = config.store === 'memory' ? deps.shared.acquire(`idempotency:memory ${bound}`, () => new MemoryStore(bound)) : undefined;
    const store: IdempotencyStore = lease?.value ?? new RedisStore(deps.redis!);
    const methods = new Set<string>(config.methods);
    const claims = new WeakMap<Exchange, Claim>();
    const report = storeFailures(deps);

    const settle = async (ex: Exchange, claim: Claim, status: number, headers: string[], body: Buffer | undefined): Promise<void> => {
      claim.step = 'settling';
      try {
        if (!ex.upstreamReached || body === undefined) await store.release(claim.key, claim.token);
        else await store.save(claim.key, claim.hash, { status, headers, body }, config.ttl);
      } catch (error) {
        report(error, ex);
      }
      claim.step = 'settled';
    };

    // Every ending passes here; only one whose answer never reached the response phase's end is left.
    const atFinish = (ex: Exchange): void => {
      const claim = claims.get(ex);
      if (claim === undefined || (claim.step !== 'claimed' && claim.step !== 'answering')) return;
      claim.step = 'settled';
      if (!ex.upstreamReached) store.release(claim.key, claim.token).catch((error: unknown) => report(error, ex));
    };

    const admit = async (ex: Exchange, key: string): Promise<LocalReply | undefined> => {
      const bound = Math.min(config.maxBody, ex.bodyLimit);
      const body = await ex.readBody(bound);
      if (body === 'too_large') return reply(bound < config.maxBody ? 'request_body_too_large' : 'idempotency_body_too_large');
      if (body === 'aborted') return reply('client_aborted');
      if (body === 'timeout') return reply('client_body_timeout');
      const claim: Claim = { key: storeKey(ex, key), hash: sha256(body), token: randomUUID(), step: 'claimed' };
      let held;
      try {
        held = await store.claim(claim.key, claim.hash, claim.token, ex.answerWithin + MARKER_GRACE_MS);
      } catch (error) {
        report(error, ex);
        return reply('idempotency_unavailable');
      }
      if (held === 'claimed') {
        // The client left while the claim was on its way: finish has run, so nothing else would release it.
        if (ex.finished) return void store.release(claim.key, claim.token).catch((error: unknown) => report(error, ex));
        claims.set(ex, claim);
        ex.atFinish(atFinish);
        return undefined;
      }
      if (held.hash !== claim.hash) return reply('idempotency_key_mismatch');
      if (held.state === 'pending') return reply('idempotency_in_progress');
      const { status, headers, body: stored } = held.answer;
      // No body at all rather than an empty one, so a replayed 204 or 304 gets no Content-Length either.
      const replayed = contentReply(SOURCE, status, stored.length === 0 ? undefined : stored, { 'idempotent-replayed': 'true' });
      return { ...replayed, headerList: headers };
    };

    return {
      onRequest(ex) {
        if (!methods.has(ex.method) || ex.isUpgrade) return undefined;
        const key = ex.headers['idempotency-key'];
        if (key === undefined) return undefined;
        if (!validKey(key)) return reply('idempotency_key_invalid');
        return admit(ex, key);
      },
      onResponse(ex: Exchange, head: ResponseHead) {
        const claim = claims.get(ex);
        if (claim === undefined || claim.step !== 'claimed') return;
        claim.step = 'answering';
        const status = head.status;
        const headers = storedHeaders(head.headers);
        head.transformBody(() => new CaptureBody(config.maxBody, (body) => settle(ex, claim, status, headers, body)), true);
      },
      close() {
        lease?.release();
      },
    };
  },
});

function storedHeaders(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!NOT_STORED.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** Logs a store failure at most once every 10 s, with how many there were since the last line. */
function storeFailures(deps: PolicyDeps): (error: unknown, ex: Exchange) => void {
  let last = -Infinity;
  let since = 0;
  return (error, ex) => {
    since++;
    const now = performance.now();
    if (now - last < 10_000) return;
    last = now;
    deps.log.warn({ err: error instanceof Error ? error.message : String(error), requestId: ex.requestId, failures: since }, 'idempotency: store unreachable; keyed requests get 503 idempotency_unavailable, answers are not stored');
    since = 0;
  };
}
