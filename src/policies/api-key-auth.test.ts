import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { apiKeyAuth, hashKey, schema } from './api-key-auth.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => apiKeyAuth.create(schema.parse(cfg), deps);
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

const KEY_A = 'key-a-0123456789';
const KEY_A2 = 'key-a-rotated';
const KEY_B = 'key-b-abcdef';
const consumers = [
  { id: 'mobile-app', keys: [hashKey(KEY_A), hashKey(KEY_A2)] },
  { id: 'partner', keys: [hashKey(KEY_B)] },
];
const base = { consumers };
const withQuery = { consumers, query: 'api_key' };

/** Runs the policy once; returns its answer and the context it worked on. */
function run(cfg: unknown, headers: IncomingHttpHeaders, query = '') {
  const ctx = testExchange({ headers, query });
  const out = policyOf(cfg).onRequest!(ctx) as LocalReply | undefined;
  return { out, ctx };
}

const challenge = (header = 'x-api-key') => ({ 'www-authenticate': `ApiKey realm="gatehouse", header="${header}"` });

describe('hashKey', () => {
  it('gives "sha256:" and the 64 lower-case hex digits of the key\'s SHA-256', () => {
    const hashed = hashKey('secret');
    assert.match(hashed, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hashed, `sha256:${createHash('sha256').update('secret').digest('hex')}`);
    assert.equal(hashKey('secret'), 'sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b');
  });

  it('hashes the UTF-8 bytes of the key', () => {
    assert.equal(hashKey('clé'), `sha256:${createHash('sha256').update(Buffer.from('clé', 'utf8')).digest('hex')}`);
  });

  it('produces a value the schema accepts', () => {
    assert.equal(schema.safeParse({ consumers: [{ id: 'c', keys: [hashKey('k')] }] }).success, true);
  });
});

describe('api-key-auth schema', () => {
  it('fills in the defaults', () => {
    assert.deepEqual(schema.parse(base), { header: 'x-api-key', consumers, forwardKey: false });
  });

  it('accepts a custom header (lower-cased), a query parameter and forwardKey', () => {
    const parsed = schema.parse({ header: 'X-Partner-Key', query: 'key', forwardKey: true, consumers });
    assert.equal(parsed.header, 'x-partner-key');
    assert.equal(parsed.query, 'key');
    assert.equal(parsed.forwardKey, true);
  });

  it('rejects keys that are not sha256 hashes, with the message that says how to make one', () => {
    for (const bad of ['plain-key', 'sha256:ABC', `sha256:${'A'.repeat(64)}`, `sha1:${'a'.repeat(40)}`, `sha256:${'a'.repeat(63)}`]) {
      const found = issues({ consumers: [{ id: 'c', keys: [bad] }] });
      assert.deepEqual(found.map((i) => i.path), [['consumers', 0, 'keys', 0]], bad);
      assert.equal(found[0]!.message, 'must be "sha256:" followed by 64 lower-case hex digits (see `gatehouse hash-key`)');
    }
  });

  it('rejects the same key hash given to two consumers, naming the first owner', () => {
    const shared = hashKey('shared');
    const found = issues({ consumers: [{ id: 'first', keys: [shared] }, { id: 'second', keys: [hashKey('other'), shared] }] });
    assert.deepEqual(found.map((i) => [i.path, i.message]), [[['consumers', 1, 'keys', 1], 'key hash already belongs to consumer "first"']]);
  });

  it('rejects a bad header name, an empty query name, bad consumer ids and empty lists', () => {
    assert.deepEqual(issues({ header: 'x api key', consumers }).map((i) => [i.path, i.message]), [[['header'], 'must be a valid header name']]);
    assert.deepEqual(issues({ query: '', consumers }).map((i) => i.path), [['query']]);
    assert.deepEqual(issues({ consumers: [{ id: 'has space', keys: [hashKey('k')] }] }).map((i) => [i.path, i.message]),
      [[['consumers', 0, 'id'], 'must be printable ASCII without spaces']]);
    assert.deepEqual(issues({ consumers: [{ id: '', keys: [hashKey('k')] }] }).map((i) => i.path)[0], ['consumers', 0, 'id']);
    assert.deepEqual(issues({ consumers: [{ id: 'c', keys: [] }] }).map((i) => i.path), [['consumers', 0, 'keys']]);
    assert.deepEqual(issues({ consumers: [] }).map((i) => i.path), [['consumers']]);
    assert.deepEqual(issues({}).map((i) => i.path), [['consumers']]);
  });

  it('rejects an unknown key at the top and in a consumer', () => {
    const top = issues({ consumers, keys: [] });
    assert.equal(top[0]?.code, 'unrecognized_keys');
    assert.match(top[0]!.message, /keys/);
    const inner = issues({ consumers: [{ id: 'c', keys: [hashKey('k')], name: 'C' }] });
    assert.equal(inner[0]?.code, 'unrecognized_keys');
    assert.deepEqual(inner[0]!.path, ['consumers', 0]);
  });
});

describe('api-key-auth', () => {
  it('has nothing to close', () => {
    assert.equal(policyOf(base).close, undefined);
  });

  it('admits a known key from the header and names its consumer', () => {
    const { out, ctx } = run(base, { 'x-api-key': KEY_B });
    assert.equal(out, undefined);
    assert.deepEqual(ctx.identity, { consumer: 'partner' });
  });

  it('admits every key of a consumer (rotation)', () => {
    assert.deepEqual(run(base, { 'x-api-key': KEY_A }).ctx.identity, { consumer: 'mobile-app' });
    assert.deepEqual(run(base, { 'x-api-key': KEY_A2 }).ctx.identity, { consumer: 'mobile-app' });
  });

  it('refuses a request without a key with 401 api_key_missing and a WWW-Authenticate challenge', () => {
    const { out, ctx } = run(base, {});
    assert.deepEqual(out, { status: 401, reason: 'api_key_missing', headers: challenge() });
    assert.equal(ctx.identity, undefined);
  });

  it('treats an empty key as missing', () => {
    assert.equal(run(base, { 'x-api-key': '' }).out?.reason, 'api_key_missing');
    assert.equal(run(withQuery, {}, '?api_key=').out?.reason, 'api_key_missing');
  });

  it('refuses an unknown key with 401 api_key_invalid and the same challenge', () => {
    const { out, ctx } = run(base, { 'x-api-key': 'not-a-key' });
    assert.deepEqual(out, { status: 401, reason: 'api_key_invalid', headers: challenge() });
    assert.equal(ctx.identity, undefined);
  });

  it('refuses the key hash itself presented as a key', () => {
    assert.equal(run(base, { 'x-api-key': hashKey(KEY_A) }).out?.reason, 'api_key_invalid');
  });

  it('reads the key from the configured header only, and names that header in the challenge', () => {
    const cfg = { header: 'X-Partner-Key', consumers };
    assert.deepEqual(run(cfg, { 'x-partner-key': KEY_B }).ctx.identity, { consumer: 'partner' });
    const { out } = run(cfg, { 'x-api-key': KEY_B });
    assert.equal(out?.reason, 'api_key_missing');
    assert.deepEqual(out?.headers, challenge('x-partner-key'));
  });

  it('ignores the query parameter unless one is configured', () => {
    const { out, ctx } = run(base, {}, `?api_key=${KEY_A}`);
    assert.equal(out?.reason, 'api_key_missing');
    assert.equal(ctx.query, `?api_key=${KEY_A}`);
  });

  it('admits a known key from the configured query parameter, decoded', () => {
    const key = 'k y+/=';
    const cfg = { query: 'api_key', consumers: [{ id: 'q', keys: [hashKey(key)] }] };
    assert.deepEqual(run(cfg, {}, `?api_key=${encodeURIComponent(key)}`).ctx.identity, { consumer: 'q' });
    assert.deepEqual(run(cfg, {}, '?api_key=k+y%2B%2F%3D').ctx.identity, { consumer: 'q' });
  });

  it('lets the header win when both the header and the query parameter carry a key', () => {
    assert.deepEqual(run(withQuery, { 'x-api-key': KEY_B }, `?api_key=${KEY_A}`).ctx.identity, { consumer: 'partner' });
    assert.equal(run(withQuery, { 'x-api-key': 'wrong' }, `?api_key=${KEY_A}`).out?.reason, 'api_key_invalid');
  });

  it('refuses an unknown key from the query with api_key_invalid', () => {
    assert.equal(run(withQuery, {}, '?api_key=nope').out?.reason, 'api_key_invalid');
  });

  it('removes the key header from what is forwarded, admitted or refused', () => {
    assert.deepEqual([...run(base, { 'x-api-key': KEY_A }).ctx.removedHeaders!], ['x-api-key']);
    assert.deepEqual([...run(base, { 'x-api-key': 'bad' }).ctx.removedHeaders!], ['x-api-key']);
    assert.deepEqual([...run({ header: 'X-Partner-Key', consumers }, { 'x-partner-key': KEY_B }).ctx.removedHeaders!], ['x-partner-key']);
  });

  it('removes no header when the request carries no key header', () => {
    assert.equal(run(base, {}).ctx.removedHeaders, undefined);
    assert.equal(run(withQuery, {}, `?api_key=${KEY_A}`).ctx.removedHeaders, undefined);
  });

  it('removes the key query parameter, every occurrence, keeping the other parameters\' exact encoding', () => {
    const { ctx } = run(withQuery, {}, `?a=x+y%2Fz&api_key=${KEY_A}&b=%7E&api_key=again&c`);
    assert.equal(ctx.query, '?a=x+y%2Fz&b=%7E&c');
  });

  it('removes the query parameter even when the header supplied the key', () => {
    const { ctx } = run(withQuery, { 'x-api-key': KEY_B }, `?api_key=${KEY_A}&page=2`);
    assert.equal(ctx.query, '?page=2');
  });

  it('leaves the query empty when the key was its only parameter', () => {
    assert.equal(run(withQuery, {}, `?api_key=${KEY_A}`).ctx.query, '');
  });

  it('leaves the query alone when it has no key parameter', () => {
    assert.equal(run(withQuery, { 'x-api-key': KEY_A }, '?q=a%20b').ctx.query, '?q=a%20b');
  });

  it('forwards the header and the query parameter when forwardKey is set', () => {
    const { out, ctx } = run({ ...withQuery, forwardKey: true }, {}, `?api_key=${KEY_A}&x=1`);
    assert.equal(out, undefined);
    assert.deepEqual(ctx.identity, { consumer: 'mobile-app' });
    assert.equal(ctx.query, `?api_key=${KEY_A}&x=1`);
    assert.equal(ctx.removedHeaders, undefined);
    assert.equal(run({ ...base, forwardKey: true }, { 'x-api-key': KEY_A }).ctx.removedHeaders, undefined);
  });

  it('answers synchronously', () => {
    const out = policyOf(base).onRequest!(testExchange({ headers: { 'x-api-key': KEY_A } }));
    assert.equal(out instanceof Promise, false);
  });
});
