import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { requestSizeLimit, schema } from './request-size-limit.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => requestSizeLimit.create(schema.parse(cfg), deps);
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

function run(cfg: unknown, headers: IncomingHttpHeaders) {
  const ctx = testExchange({ method: 'POST', headers });
  return { out: policyOf(cfg).onRequest!(ctx) as LocalReply | undefined, ctx };
}

describe('request-size-limit schema', () => {
  it('accepts binary and decimal sizes and plain byte counts', () => {
    assert.deepEqual(schema.parse({ maxBytes: '1MiB' }), { maxBytes: 1_048_576 });
    assert.deepEqual(schema.parse({ maxBytes: '1MB' }), { maxBytes: 1_000_000 });
    assert.deepEqual(schema.parse({ maxBytes: '512KiB' }), { maxBytes: 524_288 });
    assert.deepEqual(schema.parse({ maxBytes: 1024 }), { maxBytes: 1024 });
    assert.deepEqual(schema.parse({ maxBytes: 0 }), { maxBytes: 0 });
  });

  it('rejects what is not a size, saying what a size looks like', () => {
    for (const bad of ['big', '1 parsec', -1, 1.5, '']) {
      const found = issues({ maxBytes: bad });
      assert.deepEqual(found.map((i) => i.path), [['maxBytes']], String(bad));
      assert.equal(found[0]!.message, `invalid size ${JSON.stringify(bad)}: use e.g. "16KiB", "1MiB", "1MB" or a number of bytes`);
    }
  });

  it('rejects a missing maxBytes and an unknown key', () => {
    assert.deepEqual(issues({}).map((i) => i.path), [['maxBytes']]);
    const found = issues({ maxBytes: '1MiB', max: '2MiB' });
    assert.equal(found[0]?.code, 'unrecognized_keys');
    assert.match(found[0]!.message, /max/);
  });
});

describe('request-size-limit', () => {
  it('has nothing to close', () => {
    assert.equal(policyOf({ maxBytes: 10 }).close, undefined);
  });

  it('refuses a declared length over the limit with 413', () => {
    const { out, ctx } = run({ maxBytes: 10 }, { 'content-length': '11' });
    assert.deepEqual(out, { status: 413, reason: 'request_body_too_large', headers: undefined });
    assert.equal(ctx.bodyLimit, Infinity);
  });

  it('passes a declared length equal to the limit and caps the body at the limit', () => {
    const { out, ctx } = run({ maxBytes: 10 }, { 'content-length': '10' });
    assert.equal(out, undefined);
    assert.equal(ctx.bodyLimit, 10);
  });

  it('passes a declared length under the limit and caps the body at the limit', () => {
    const { out, ctx } = run({ maxBytes: '1KiB' }, { 'content-length': '5' });
    assert.equal(out, undefined);
    assert.equal(ctx.bodyLimit, 1024);
  });

  it('passes a chunked body of unknown length and caps it while it streams', () => {
    const { out, ctx } = run({ maxBytes: 100 }, { 'transfer-encoding': 'chunked' });
    assert.equal(out, undefined);
    assert.equal(ctx.bodyLimit, 100);
  });

  it('passes a request without a body and sets no limit', () => {
    const { out, ctx } = run({ maxBytes: 100 }, {});
    assert.equal(out, undefined);
    assert.equal(ctx.bodyLimit, Infinity);
  });

  it('passes a declared length of 0 even with a limit of 0', () => {
    const { out, ctx } = run({ maxBytes: 0 }, { 'content-length': '0' });
    assert.equal(out, undefined);
    assert.equal(ctx.bodyLimit, Infinity);
    assert.equal(run({ maxBytes: 0 }, { 'content-length': '1' }).out?.reason, 'request_body_too_large');
  });

  it('keeps a smaller limit set earlier on the same request', () => {
    const ctx = testExchange({ method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    ctx.limitBody(50);
    assert.equal(policyOf({ maxBytes: 100 }).onRequest!(ctx), undefined);
    assert.equal(ctx.bodyLimit, 50);
  });

  it('touches nothing else on the context and answers synchronously', () => {
    const ctx = testExchange({ method: 'POST', headers: { 'content-length': '5' } });
    const out = policyOf({ maxBytes: 10 }).onRequest!(ctx);
    assert.equal(out instanceof Promise, false);
    assert.equal(ctx.identity, undefined);
    assert.equal(ctx.removedHeaders, undefined);
  });
});
