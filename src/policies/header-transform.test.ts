import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { createLogger } from '../observability/logger.ts';
import { ResponseHead } from '../pipeline/response-head.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { headerTransform, schema } from './header-transform.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => headerTransform.create(schema.parse(cfg), deps);
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

/** The request side applied to a request with these headers: what the Exchange will forward. */
function onRequest(cfg: unknown, headers: IncomingHttpHeaders = {}) {
  const ex = testExchange({ headers });
  assert.equal(policyOf(cfg).onRequest!(ex), undefined, 'header-transform never answers');
  return { removed: [...(ex.removedHeaders ?? [])], added: ex.addedHeaders };
}

/** The response side applied to a head with these headers. */
function onResponse(cfg: unknown, headers: string[]): string[] {
  const head = new ResponseHead(200, [...headers]);
  policyOf(cfg).onResponse!(testExchange(), head);
  return head.headers;
}

describe('header-transform schema', () => {
  it('accepts request and response edits, lower-casing names and filling in empty lists', () => {
    assert.deepEqual(schema.parse({ request: { set: { 'X-Env': 'staging' }, append: { 'x-tag': 'a' }, remove: ['Cookie'] } }), {
      request: { set: { 'x-env': 'staging' }, append: { 'x-tag': 'a' }, remove: ['cookie'] },
    });
    assert.deepEqual(schema.parse({ response: { remove: ['server'] } }), { response: { remove: ['server'], set: {}, append: {} } });
    assert.equal(schema.safeParse({ request: { set: { authorization: 'Bearer upstream-token' } }, response: { set: { 'cache-control': 'no-store' } } }).success, true);
  });

  it('rejects a config with neither request nor response edits', () => {
    assert.deepEqual(issues({}).map((i) => i.message), ['give request or response edits (or both)']);
  });

  it('rejects an unknown key on the policy and on either side', () => {
    for (const [cfg, key] of [[{ request: {}, rename: {} }, 'rename'], [{ request: { add: {} } }, 'add'], [{ response: { replace: {} } }, 'replace']] as const) {
      const found = issues(cfg);
      assert.equal(found[0]?.code, 'unrecognized_keys', JSON.stringify(cfg));
      assert.match(found[0]!.message, new RegExp(key));
    }
  });

  it('rejects header names that are not tokens, and values with line breaks', () => {
    assert.deepEqual(issues({ request: { remove: ['x a'] } }).map((i) => i.path), [['request', 'remove', 0]]);
    assert.equal(issues({ response: { set: { 'x(a)': '1' } } })[0]?.code, 'invalid_key');
    const value = issues({ response: { set: { 'x-a': 'one\r\nset-cookie: evil=1' } } });
    assert.deepEqual(value.map((i) => [i.path, i.message]), [[['response', 'set', 'x-a'], 'must be a valid header value (no line breaks or control characters)']]);
  });

  it('refuses the request headers Gatehouse owns, in any case and spelling, with a message saying why', () => {
    for (const name of ['X-Forwarded-For', 'x_forwarded_for', 'x-request-id', 'traceparent', 'via', 'host', 'content-length', 'connection', 'transfer-encoding', 'expect']) {
      for (const cfg of [{ request: { remove: [name] } }, { request: { set: { [name]: 'v' } } }, { request: { append: { [name]: 'v' } } }]) {
        const found = issues(cfg);
        assert.equal(found.length, 1, `${name}: ${JSON.stringify(cfg)}`);
        const message = found[0]!.code === 'invalid_key' ? found[0]!.issues[0]!.message : found[0]!.message;
        assert.match(message, /^Gatehouse owns this request header .*; it cannot be transformed$/, name);
      }
    }
  });

  it('refuses the response headers Gatehouse owns, and lets requests change what only responses reserve', () => {
    for (const name of ['X-Request-ID', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive']) {
      const found = issues({ response: { set: { [name]: 'v' } } });
      assert.equal(found[0]?.code, 'invalid_key', name);
      assert.match(found[0]!.code === 'invalid_key' ? found[0]!.issues[0]!.message : '', /^Gatehouse owns this response header/);
      assert.equal(issues({ response: { remove: [name] } }).length, 1, name);
    }
    assert.equal(schema.safeParse({ response: { set: { server: 'gatehouse', via: 'x' } } }).success, true, 'Via is the gateway\'s on requests only');
  });

  it('refuses a name both removed and set on the same side', () => {
    const found = issues({ request: { remove: ['x-a'], set: { 'X-A': '1' } } });
    assert.deepEqual(found.map((i) => i.path), [['request', 'set', 'x-a']]);
    assert.match(found[0]!.message, /also in remove/);
  });

  it('is refused by the config when it would send an identity header upstream, at the entry\'s path', () => {
    const base = { upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } }, identity: { stripHeaders: ['x-internal-role'] } };
    const result = configSchema.safeParse({
      ...base,
      policies: [{ type: 'header-transform', request: { set: { 'X-User-Id': 'forged' } } }],
      routes: [{ name: 'r', match: { path: '/' }, upstream: 'u', policies: [{ type: 'header-transform', request: { append: { x_consumer_id: 'x' }, remove: ['x-internal-role'] } }] }],
    });
    const found = (result.error?.issues ?? []).map((i) => [i.path.join('.'), i.message]);
    assert.deepEqual(found.map(([path]) => path), ['policies.0.request.set.x-user-id', 'routes.0.policies.0.request.remove.0', 'routes.0.policies.0.request.append.x_consumer_id']);
    for (const [, message] of found) assert.match(message!, /is an identity header: Gatehouse sets it from the verified identity alone/);
    assert.equal(configSchema.safeParse({ ...base, routes: [], policies: [{ type: 'header-transform', response: { set: { 'x-user-id': 'fine' } } }] }).success, true,
      'identity headers are request headers: a response may carry one');
  });
});

describe('header-transform on requests', () => {
  it('passes a request through unchanged when it only edits responses, and builds no request phase for it', () => {
    const policy = policyOf({ response: { set: { 'x-a': '1' } } });
    assert.equal(policy.onRequest, undefined);
    assert.equal(policyOf({ request: { set: { 'x-a': '1' } } }).onResponse, undefined);
  });

  it('removes, then sets, then appends', () => {
    const out = onRequest({ request: { remove: ['cookie', 'x-debug'], set: { 'x-env': 'staging', authorization: 'Bearer svc' }, append: { 'x-env': 'eu', 'x-tag': 't' } } });
    assert.deepEqual(out.added, ['x-env', 'staging', 'authorization', 'Bearer svc', 'x-env', 'eu', 'x-tag', 't']);
    assert.deepEqual(out.removed, ['cookie', 'x-debug', 'x-env', 'authorization'], 'set replaces the client\'s copies');
  });

  it('appends after the client\'s values without removing them', () => {
    const out = onRequest({ request: { append: { accept: 'application/json' } } }, { accept: 'text/html' });
    assert.deepEqual(out.removed, []);
    assert.deepEqual(out.added, ['accept', 'application/json']);
  });

  it('has nothing to close', () => {
    assert.equal(policyOf({ request: { remove: ['x-a'] } }).close, undefined);
  });
});

describe('header-transform on responses', () => {
  it('removes every value, sets one value in place of all, and appends after the others', () => {
    const out = onResponse({ response: { remove: ['server'], set: { 'cache-control': 'no-store' }, append: { vary: 'Accept' } } },
      ['server', 'nginx', 'cache-control', 'max-age=60', 'vary', 'Origin', 'server', 'again', 'x-request-id', 'r-1']);
    assert.deepEqual(out, ['vary', 'Origin', 'x-request-id', 'r-1', 'cache-control', 'no-store', 'vary', 'Accept']);
  });

  it('leaves a head it has nothing to do with as it was', () => {
    assert.deepEqual(onResponse({ response: { remove: ['server'] } }, ['content-type', 'text/plain', 'x-request-id', 'r-1']), ['content-type', 'text/plain', 'x-request-id', 'r-1']);
  });
});
