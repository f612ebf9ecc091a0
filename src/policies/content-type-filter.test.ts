import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { contentTypeFilter, mediaTypeOf, schema } from './content-type-filter.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => contentTypeFilter.create(schema.parse(cfg), deps);
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

const json = { allow: ['application/json'] };
const many = { allow: ['Application/JSON', 'multipart/form-data', 'image/*'] };
const withBody = (contentType?: string): IncomingHttpHeaders =>
  (contentType === undefined ? { 'content-length': '2' } : { 'content-length': '2', 'content-type': contentType });
const run = (cfg: unknown, headers: IncomingHttpHeaders) => policyOf(cfg).onRequest!(testExchange({ method: 'POST', headers })) as LocalReply | undefined;

describe('content-type-filter schema', () => {
  it('accepts media types and whole-type ranges', () => {
    assert.deepEqual(schema.parse(many), many);
    assert.equal(schema.safeParse({ allow: ['application/vnd.api+json', 'text/*'] }).success, true);
  });

  it('rejects what is not a media type or type/* range, naming the entry', () => {
    for (const bad of ['json', 'application/', '*/*', '*/json', 'application/json; charset=utf-8', 'text/ plain', '']) {
      const found = issues({ allow: ['application/json', bad] });
      assert.deepEqual(found.map((i) => i.path), [['allow', 1]], bad);
      assert.equal(found[0]!.message, 'must be a media type such as application/json or image/*');
    }
  });

  it('rejects an empty or missing list and an unknown key', () => {
    assert.deepEqual(issues({ allow: [] }).map((i) => i.path), [['allow']]);
    assert.deepEqual(issues({}).map((i) => i.path), [['allow']]);
    const found = issues({ allow: ['application/json'], deny: ['text/html'] });
    assert.equal(found[0]?.code, 'unrecognized_keys');
    assert.match(found[0]!.message, /deny/);
  });
});

describe('media type of a Content-Type header', () => {
  it('drops parameters, trims and lower-cases', () => {
    assert.equal(mediaTypeOf('application/json'), 'application/json');
    assert.equal(mediaTypeOf(' Application/JSON ; charset=UTF-8'), 'application/json');
    assert.equal(mediaTypeOf('multipart/form-data; boundary=xyz'), 'multipart/form-data');
  });

  it('gives undefined for a missing or empty type', () => {
    assert.equal(mediaTypeOf(undefined), undefined);
    assert.equal(mediaTypeOf(''), undefined);
    assert.equal(mediaTypeOf('  ; charset=utf-8'), undefined);
  });
});

describe('content-type-filter', () => {
  it('has nothing to close', () => {
    assert.equal(policyOf(json).close, undefined);
  });

  it('passes an allowed media type, ignoring parameters and case', () => {
    assert.equal(run(json, withBody('application/json')), undefined);
    assert.equal(run(json, withBody('application/json; charset=utf-8')), undefined);
    assert.equal(run(json, withBody('APPLICATION/Json')), undefined);
    assert.equal(run(many, withBody('application/json')), undefined, 'an upper-case allow entry matches');
    assert.equal(run(many, withBody('multipart/form-data; boundary=----x')), undefined);
  });

  it('passes any subtype of a type/* range', () => {
    assert.equal(run(many, withBody('image/png')), undefined);
    assert.equal(run(many, withBody('Image/SVG+xml')), undefined);
  });

  it('refuses a media type not on the list with 415 unsupported_media_type', () => {
    assert.deepEqual(run(json, withBody('text/plain')), { status: 415, reason: 'unsupported_media_type', headers: undefined });
    assert.equal(run(json, withBody('application/jsonp'))?.reason, 'unsupported_media_type');
    assert.equal(run(json, withBody('application/json-patch+json'))?.reason, 'unsupported_media_type');
    assert.equal(run(many, withBody('imagex/png'))?.reason, 'unsupported_media_type', 'a type/* range is not a prefix of the type name');
    assert.equal(run(many, withBody('image'))?.reason, 'unsupported_media_type');
  });

  it('refuses a body without a Content-Type, or with an empty one', () => {
    assert.equal(run(json, withBody())?.reason, 'unsupported_media_type');
    assert.equal(run(json, withBody(''))?.reason, 'unsupported_media_type');
    assert.equal(run(json, withBody('; charset=utf-8'))?.reason, 'unsupported_media_type');
  });

  it('refuses a chunked body of the wrong type', () => {
    assert.equal(run(json, { 'transfer-encoding': 'chunked', 'content-type': 'text/xml' })?.reason, 'unsupported_media_type');
    assert.equal(run(json, { 'transfer-encoding': 'chunked', 'content-type': 'application/json' }), undefined);
  });

  it('passes requests without a body whatever their Content-Type', () => {
    assert.equal(run(json, {}), undefined);
    assert.equal(run(json, { 'content-type': 'text/html' }), undefined);
    assert.equal(run(json, { 'content-length': '0', 'content-type': 'text/html' }), undefined);
  });

  it('touches nothing on the context and answers synchronously', () => {
    const ctx = testExchange({ method: 'POST', headers: withBody('text/plain') });
    const out = policyOf(json).onRequest!(ctx);
    assert.equal(out instanceof Promise, false);
    assert.equal(ctx.identity, undefined);
    assert.equal(ctx.removedHeaders, undefined);
    assert.equal(ctx.bodyLimit, Infinity);
  });
});
