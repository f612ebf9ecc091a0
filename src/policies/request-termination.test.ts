import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedResources } from '../leases/shared-resources.ts';
import { createLogger } from '../observability/logger.ts';
import type { ContentReply } from '../pipeline/local-reply.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { replyParts } from '../server/error-response.ts';
import { requestTermination, schema } from './request-termination.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => requestTermination.create(schema.parse(cfg), deps);
const answer = (cfg: unknown, ex = testExchange()) => policyOf(cfg).onRequest!(ex) as ContentReply;
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

describe('request-termination schema', () => {
  it('fills in 503, no body, a plain-text content type and no headers', () => {
    assert.deepEqual(schema.parse({}), { status: 503, contentType: 'text/plain; charset=utf-8', headers: {} });
  });

  it('accepts any status from 200 to 599, a body, a content type and headers (names lower-cased)', () => {
    assert.deepEqual(schema.parse({ status: 200, body: '{"ok":true}', contentType: 'application/json', headers: { 'Retry-After': '60' } }),
      { status: 200, body: '{"ok":true}', contentType: 'application/json', headers: { 'retry-after': '60' } });
    for (const status of [200, 418, 599]) assert.equal(schema.safeParse({ status }).success, true, String(status));
  });

  it('rejects a status outside 200-599 or not an integer', () => {
    for (const status of [100, 199, 600, 503.5, '503']) assert.deepEqual(issues({ status }).map((i) => i.path), [['status']], String(status));
  });

  it('rejects a body on 204 or 304, naming the body', () => {
    for (const status of [204, 304]) {
      const found = issues({ status, body: 'x' });
      assert.deepEqual(found.map((i) => i.path), [['body']]);
      assert.match(found[0]!.message, new RegExp(`a ${status} answer has no body`));
    }
    assert.equal(schema.safeParse({ status: 204 }).success, true);
  });

  it('rejects headers Gatehouse sets itself, Content-Type among them, and values with line breaks', () => {
    for (const name of ['Content-Length', 'x-request-id', 'transfer-encoding', 'connection', 'content-type']) {
      const found = issues({ headers: { [name]: '1' } });
      assert.equal(found[0]?.code, 'invalid_key', name);
      assert.match(found[0]!.code === 'invalid_key' ? found[0]!.issues[0]!.message : '', /^Gatehouse sets this header itself/);
    }
    assert.deepEqual(issues({ headers: { 'x-a': 'a\nb' } }).map((i) => i.path), [['headers', 'x-a']]);
    assert.deepEqual(issues({ contentType: '' }).map((i) => i.path), [['contentType']]);
  });

  it('rejects an unknown key', () => {
    const found = issues({ status: 503, message: 'down' });
    assert.equal(found[0]?.code, 'unrecognized_keys');
    assert.match(found[0]!.message, /message/);
  });
});

describe('request-termination', () => {
  it('answers every request with a content reply from source "request-termination" and no reason', () => {
    const policy = policyOf({ status: 503, body: 'down for maintenance' });
    for (const method of ['GET', 'POST', 'DELETE']) {
      const out = policy.onRequest!(testExchange({ method })) as ContentReply;
      assert.equal(out.status, 503);
      assert.equal(out.source, 'request-termination');
      assert.equal(out.reason, undefined);
    }
  });

  it('sends the body with its content type and the configured headers, framed by its byte length', () => {
    const out = answer({ status: 200, body: '{"café":1}', contentType: 'application/json; charset=utf-8', headers: { 'retry-after': '60' } });
    assert.equal(Buffer.isBuffer(out.body) && out.body.toString('utf8'), '{"café":1}');
    const { headers } = replyParts(out, 'r-1');
    assert.deepEqual(headers, ['retry-after', '60', 'content-type', 'application/json; charset=utf-8', 'x-request-id', 'r-1', 'content-length', '11']);
  });

  it('sends no Content-Type and an empty body when no body is configured', () => {
    const out = answer({ headers: { 'retry-after': '3600' } });
    assert.equal(out.body, undefined);
    assert.deepEqual(replyParts(out, 'r-1').headers, ['retry-after', '3600', 'x-request-id', 'r-1', 'content-length', '0']);
    assert.deepEqual(replyParts(answer({ status: 204 }), 'r-1').headers, ['x-request-id', 'r-1'], 'a 204 has no Content-Length');
  });

  it('touches nothing on the exchange and answers synchronously', () => {
    const ex = testExchange({ headers: { authorization: 'Bearer t' } });
    const out = policyOf({}).onRequest!(ex);
    assert.equal(out instanceof Promise, false);
    assert.equal(ex.removedHeaders, undefined);
    assert.equal(ex.addedHeaders, undefined);
    assert.equal(ex.identity, undefined);
  });

  it('has no response phase and nothing to close', () => {
    const policy = policyOf({});
    assert.equal(policy.onResponse, undefined);
    assert.equal(policy.close, undefined);
  });
});
