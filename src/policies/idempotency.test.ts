import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { createLogger } from '../observability/logger.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { ContentReply, LocalReply } from '../pipeline/local-reply.ts';
import type { Policy } from '../pipeline/policy.ts';
import { ResponseHead } from '../pipeline/response-head.ts';
import { idempotency, schema, SOURCE } from './idempotency.ts';

// Each test gets a store of its own: the memory store is leased per process, by its bound.
const policyOf = (cfg: unknown = {}, shared = new SharedResources()): Policy => idempotency.create(schema.parse(cfg), { log: createLogger('silent'), shared });

/** A keyed POST whose body is already in memory (as for a request the gateway makes itself). */
function keyed(key: string, body = 'pay 10', extra: Partial<Parameters<typeof testExchange>[0]> = {}): Exchange {
  const ex = testExchange({ method: 'POST', route: 'pay', headers: { 'idempotency-key': key, 'content-length': String(body.length) }, ...extra });
  ex.bufferedBody = Buffer.from(body);
  ex.answerWithin = 1000;
  return ex;
}

/** Runs the response phase and streams `body` through the transform the policy asked for (if any). */
async function respond(policy: Policy, ex: Exchange, status: number, headers: string[], body: string): Promise<ResponseHead> {
  const head = new ResponseHead(status, headers);
  policy.onResponse!(ex, head);
  const make = head.transforms?.[0];
  if (make !== undefined) {
    const capture = make();
    capture.resume();
    const ended = once(capture, 'end');
    capture.end(body);
    await ended;
  }
  return head;
}

const reasonOf = (out: LocalReply | undefined) => out?.reason;

describe('idempotency schema', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(schema.parse({}), { store: 'memory', ttl: 86_400_000, maxBody: 1_048_576, methods: ['POST', 'PATCH'] });
  });

  it('accepts the issue\'s example and refuses unknown keys, stores and methods', () => {
    assert.equal(schema.parse({ store: 'redis', ttl: '24h', maxBody: '1MiB', methods: ['POST', 'PATCH'] }).ttl, 86_400_000);
    assert.equal(schema.safeParse({ store: 'disk' }).success, false);
    assert.equal(schema.safeParse({ methods: ['FETCH'] }).success, false);
    assert.equal(schema.safeParse({ methods: [] }).success, false);
    assert.equal(schema.safeParse({ maxAge: '1h' }).success, false);
  });
});

describe('idempotency pass-through', () => {
  it('decides synchronously, reading nothing, for a request without the header or with a method it does not cover', () => {
    const policy = policyOf();
    const noKey = testExchange({ method: 'POST', headers: { 'content-length': '3' } });
    assert.equal(policy.onRequest!(noKey), undefined);
    const get = testExchange({ method: 'GET', headers: { 'idempotency-key': 'k' } });
    assert.equal(policy.onRequest!(get), undefined);
    const head = new ResponseHead(200, ['content-length', '2']);
    policy.onResponse!(noKey, head);
    assert.equal(head.transforms, undefined);
    assert.equal(noKey.finishers, undefined);
  });

  it('refuses an invalid key synchronously with 400 idempotency_key_invalid', () => {
    const out = policyOf().onRequest!(testExchange({ method: 'POST', headers: { 'idempotency-key': 'two words' } }));
    assert.equal(reasonOf(out as LocalReply), 'idempotency_key_invalid');
  });
});

describe('idempotency decisions (memory store)', () => {
  it('claims, stores the answer at the body\'s end, and replays it with Idempotent-Replayed', async () => {
    const policy = policyOf();
    const first = keyed('k1');
    assert.equal(await policy.onRequest!(first), undefined);
    assert.equal(first.finishers?.length, 1);
    first.upstreamReached = true;
    const head = await respond(policy, first, 201, ['content-type', 'text/plain', 'content-length', '2', 'x-request-id', 'r-1', 'set-cookie', 'a', 'set-cookie', 'b'], 'ok');
    assert.equal(head.get('content-length'), '2');
    const replay = await policy.onRequest!(keyed('k1')) as ContentReply;
    assert.equal(replay.source, SOURCE);
    assert.equal(replay.status, 201);
    assert.equal(replay.body?.toString(), 'ok');
    assert.deepEqual(replay.headers, { 'idempotent-replayed': 'true' });
    assert.deepEqual(replay.headerList, ['content-type', 'text/plain', 'set-cookie', 'a', 'set-cookie', 'b']);
  });

  it('replays an empty answer (a 204) with no body at all, so no Content-Length goes with it', async () => {
    const policy = policyOf();
    const first = keyed('k-204');
    await policy.onRequest!(first);
    first.upstreamReached = true;
    await respond(policy, first, 204, ['etag', '"v1"'], '');
    const replay = await policy.onRequest!(keyed('k-204')) as ContentReply;
    assert.deepEqual([replay.status, replay.body, replay.headerList], [204, undefined, ['etag', '"v1"']]);
  });

  it('answers 409 while the first is in flight and 422 to another body, in flight or stored', async () => {
    const policy = policyOf();
    const first = keyed('k2', 'a');
    await policy.onRequest!(first);
    assert.equal(reasonOf(await policy.onRequest!(keyed('k2', 'a'))), 'idempotency_in_progress');
    assert.equal(reasonOf(await policy.onRequest!(keyed('k2', 'b'))), 'idempotency_key_mismatch');
    first.upstreamReached = true;
    await respond(policy, first, 200, [], 'done');
    assert.equal(reasonOf(await policy.onRequest!(keyed('k2', 'b'))), 'idempotency_key_mismatch');
  });

  it('releases the key when no attempt reached an upstream, whatever the answer', async () => {
    const policy = policyOf();
    const first = keyed('k3');
    await policy.onRequest!(first);
    await respond(policy, first, 502, [], '{"error":{}}');
    assert.equal(await policy.onRequest!(keyed('k3')), undefined);
  });

  it('releases the key when the answer is over maxBody', async () => {
    const policy = policyOf({ maxBody: 4 });
    const first = keyed('k4', 'abc');
    await policy.onRequest!(first);
    first.upstreamReached = true;
    await respond(policy, first, 200, [], 'too long');
    assert.equal(await policy.onRequest!(keyed('k4', 'abc')), undefined);
  });

  it('at finish without an answer: releases when nothing reached an upstream, keeps the marker when something did', async () => {
    const policy = policyOf();
    const unsent = keyed('k5');
    await policy.onRequest!(unsent);
    for (const fn of unsent.finishers!) fn(unsent);
    await new Promise((r) => setImmediate(r));
    assert.equal(await policy.onRequest!(keyed('k5')), undefined, 'released: a fresh claim');

    const sent = keyed('k6');
    await policy.onRequest!(sent);
    sent.upstreamReached = true;
    policy.onResponse!(sent, new ResponseHead(200, []));  // the head went out; the body never finished
    for (const fn of sent.finishers!) fn(sent);
    assert.equal(reasonOf(await policy.onRequest!(keyed('k6'))), 'idempotency_in_progress');
  });

  it('refuses a body over maxBody with 413 idempotency_body_too_large, and over a smaller size limit with request_body_too_large', async () => {
    const policy = policyOf({ maxBody: 4 });
    assert.equal(reasonOf(await policy.onRequest!(keyed('k7', 'abcde'))), 'idempotency_body_too_large');
    const limited = keyed('k8', 'abc');
    limited.limitBody(2);
    assert.equal(reasonOf(await policy.onRequest!(limited)), 'request_body_too_large');
  });

  it('keys by identity: the same key from two consumers claims twice', async () => {
    const policy = policyOf();
    const alice = keyed('same');
    alice.identity = { consumer: 'alice' };
    const bob = keyed('same');
    bob.identity = { consumer: 'bob' };
    assert.equal(await policy.onRequest!(alice), undefined);
    assert.equal(await policy.onRequest!(bob), undefined);
  });

  it('keeps its memory store across a reload (the next runtime\'s policy leases it before the old one closes)', async () => {
    const shared = new SharedResources();
    const before = policyOf({}, shared);
    const first = keyed('k-reload');
    await before.onRequest!(first);
    first.upstreamReached = true;
    await respond(before, first, 201, [], 'kept');
    const after = policyOf({}, shared);
    before.close!();
    assert.equal(((await after.onRequest!(keyed('k-reload'))) as ContentReply).body?.toString(), 'kept');
    after.close!();
    assert.equal(shared.size, 0);
  });
});
