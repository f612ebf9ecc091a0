import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { ResponseHead } from '../pipeline/response-head.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { cors, originMatcher, schema } from './cors.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => cors.create(schema.parse(cfg), deps);
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

const APP = 'https://app.example.com';
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/** Runs one preflight (OPTIONS + Origin + Access-Control-Request-Method). */
function preflight(cfg: unknown, origin: string, method: string, requestHeaders?: string) {
  const headers: IncomingHttpHeaders = { origin, 'access-control-request-method': method };
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders;
  const ctx = testExchange({ method: 'OPTIONS', headers });
  return { out: policyOf(cfg).onRequest!(ctx) as LocalReply | undefined, ctx };
}

/** Runs one actual request and returns its outcome and the response headers it added. */
function actual(cfg: unknown, headers: IncomingHttpHeaders, method = 'GET', upstreamHeaders: string[] = []) {
  const ctx = testExchange({ method, headers });
  const policy = policyOf(cfg);
  const out = policy.onRequest!(ctx) as LocalReply | undefined;
  const head = new ResponseHead(200, [...upstreamHeaders]);
  policy.onResponse!(ctx, head);
  return { out, added: head.headers };
}

describe('cors schema', () => {
  it('fills in the defaults', () => {
    assert.deepEqual(schema.parse({ origins: [APP] }), {
      origins: [APP],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowHeaders: ['authorization', 'content-type'],
      exposeHeaders: ['x-request-id', 'ratelimit', 'ratelimit-policy', 'retry-after'],
      credentials: false,
      maxAge: 600_000,
    });
  });

  it('accepts exact origins with ports, subdomain patterns, "*" and every setting', () => {
    const parsed = schema.parse({
      origins: ['https://app.example.com', 'http://localhost:3000', 'https://*.example.com', 'https://*.example.org:8443'],
      methods: ['GET', 'OPTIONS'], allowHeaders: ['X-Custom'], exposeHeaders: [], credentials: true, maxAge: '1h',
    });
    assert.equal(parsed.maxAge, 3_600_000);
    assert.equal(schema.safeParse({ origins: ['*'] }).success, true);
  });

  it('rejects origins that are not "*" or scheme://host[:port]', () => {
    for (const bad of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'ftp://a.test', 'https://a.*.example.com',
      'https://*example.com', '*.example.com', 'https://', '']) {
      const found = issues({ origins: [bad] });
      assert.deepEqual(found.map((i) => i.path), [['origins', 0]], bad);
      assert.match(found[0]!.message, /^must be "\*" or an origin such as https:\/\/app\.example\.com/, bad);
    }
  });

  it('rejects "*" with credentials, naming origins and saying why', () => {
    const found = issues({ origins: ['*'], credentials: true });
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.path, ['origins']);
    assert.equal(found[0]!.message, '"*" cannot be used with credentials: true (browsers refuse it); list the origins');
  });

  it('rejects an empty origin list, an unknown method, a bad header name and a bad maxAge', () => {
    assert.deepEqual(issues({ origins: [] }).map((i) => i.path), [['origins']]);
    for (const method of ['TRACE', 'CONNECT', 'BREW']) assert.deepEqual(issues({ origins: [APP], methods: [method] }).map((i) => i.path), [['methods', 0]], method);
    assert.deepEqual(issues({ origins: [APP], methods: [] }).map((i) => i.path), [['methods']]);
    const header = issues({ origins: [APP], allowHeaders: ['bad header'] });
    assert.deepEqual(header.map((i) => [i.path, i.message]), [[['allowHeaders', 0], 'must be a valid header name']]);
    assert.deepEqual(issues({ origins: [APP], exposeHeaders: ['x:y'] }).map((i) => i.path), [['exposeHeaders', 0]]);
    assert.match(issues({ origins: [APP], maxAge: 'forever' })[0]!.message, /invalid duration/);
  });

  it('rejects a missing origins list and an unknown key', () => {
    assert.deepEqual(issues({}).map((i) => i.path), [['origins']]);
    const found = issues({ origins: [APP], allowOrigins: [APP] });
    assert.equal(found[0]?.code, 'unrecognized_keys');
    assert.match(found[0]!.message, /allowOrigins/);
  });
});

describe('cors origin matching', () => {
  it('matches an exact origin, case-insensitively, and nothing else', () => {
    const allowed = originMatcher([APP]);
    assert.equal(allowed(APP), true);
    assert.equal(allowed('HTTPS://App.Example.com'), true);
    assert.equal(allowed('http://app.example.com'), false);
    assert.equal(allowed('https://app.example.com:8443'), false);
    assert.equal(allowed('https://other.example.com'), false);
    assert.equal(allowed('null'), false);
  });

  it('matches https://*.example.com for subdomains at any depth but not the bare domain or lookalikes', () => {
    const allowed = originMatcher(['https://*.example.com']);
    assert.equal(allowed('https://app.example.com'), true, 'subdomain');
    assert.equal(allowed('https://a.b.example.com'), true, 'nested subdomain');
    assert.equal(allowed('https://API.Example.COM'), true, 'any case');
    assert.equal(allowed('https://example.com'), false, 'bare domain');
    assert.equal(allowed('https://evil-example.com'), false, 'suffix without a dot');
    assert.equal(allowed('https://example.com.evil.com'), false, 'the domain as a prefix');
    assert.equal(allowed('http://app.example.com'), false, 'wrong scheme');
    assert.equal(allowed('https://app.example.com:8443'), false, 'another port');
    assert.equal(allowed('https://.example.com'), false, 'empty label');
    assert.equal(allowed('https://a..example.com'), false, 'empty inner label');
    assert.equal(allowed('https://evil.com/.example.com'), false, 'a path in disguise');
    assert.equal(allowed('https://user@evil.com#.example.com'), false, 'userinfo and fragment');
  });

  it('matches a pattern with a port only on that port', () => {
    const allowed = originMatcher(['https://*.example.com:8443']);
    assert.equal(allowed('https://app.example.com:8443'), true);
    assert.equal(allowed('https://app.example.com'), false);
  });

  it('matches everything for "*"', () => {
    const allowed = originMatcher(['*']);
    assert.equal(allowed('https://anything.test'), true);
    assert.equal(allowed('null'), true);
  });
});

describe('cors preflight', () => {
  const cfg = { origins: [APP, 'https://*.example.org'], methods: ['GET', 'POST'], allowHeaders: ['Authorization', 'X-Trace'], maxAge: '90s' };

  it('answers an allowed preflight with an empty 204 cors_preflight and every Access-Control-* header', () => {
    const { out } = preflight(cfg, APP, 'POST', 'Authorization, X-Trace');
    assert.deepEqual(out, {
      status: 204,
      reason: 'cors_preflight',
      empty: true,
      headers: {
        'access-control-allow-origin': APP,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, x-trace',
        'access-control-max-age': '90',
        vary: PREFLIGHT_VARY,
      },
    });
  });

  it('gives max-age in whole seconds', () => {
    assert.equal(preflight({ origins: [APP], maxAge: '1500ms' }, APP, 'GET').out?.headers?.['access-control-max-age'], '1');
    assert.equal(preflight({ origins: [APP] }, APP, 'GET').out?.headers?.['access-control-max-age'], '600');
  });

  it('lists the configured headers when the preflight asks for none', () => {
    const { out } = preflight(cfg, APP, 'GET');
    assert.equal(out?.headers?.['access-control-allow-headers'], 'Authorization, X-Trace');
    assert.equal(preflight(cfg, APP, 'GET', '').out?.headers?.['access-control-allow-headers'], 'Authorization, X-Trace');
  });

  it('matches requested headers case-insensitively and ignores blanks in the list', () => {
    const { out } = preflight(cfg, APP, 'GET', ' X-TRACE ,, authorization ');
    assert.equal(out?.status, 204);
    assert.equal(out?.headers?.['access-control-allow-headers'], 'x-trace, authorization');
  });

  it('refuses a header a browser names in a preflight unless it is listed, even content-type (sent only for unsafe values)', () => {
    const listedOnly = { ...cfg, allowHeaders: ['x-trace'] };
    assert.equal(preflight(listedOnly, APP, 'POST', 'content-type').out?.status, 403);
    assert.equal(preflight(listedOnly, APP, 'POST', 'x-trace').out?.status, 204);
  });

  it('echoes the origin for a subdomain pattern and adds credentials when configured', () => {
    const { out } = preflight({ ...cfg, credentials: true }, 'https://shop.eu.example.org', 'GET');
    assert.equal(out?.headers?.['access-control-allow-origin'], 'https://shop.eu.example.org');
    assert.equal(out?.headers?.['access-control-allow-credentials'], 'true');
  });

  it('answers "*" to any origin when origins is "*", without credentials', () => {
    const { out } = preflight({ origins: ['*'] }, 'https://anyone.test', 'DELETE');
    assert.equal(out?.status, 204);
    assert.equal(out?.headers?.['access-control-allow-origin'], '*');
    assert.equal(out?.headers && 'access-control-allow-credentials' in out.headers, false);
  });

  const refused = { status: 403, reason: 'cors_origin_not_allowed', headers: { vary: PREFLIGHT_VARY } };

  it('refuses a preflight from an origin that is not allowed with 403 cors_origin_not_allowed and only Vary', () => {
    assert.deepEqual(preflight(cfg, 'https://evil.test', 'GET').out, refused);
    assert.deepEqual(preflight(cfg, 'https://example.org', 'GET').out, refused);
  });

  it('refuses a preflight asking for a method that is not allowed', () => {
    assert.deepEqual(preflight(cfg, APP, 'DELETE').out, refused);
    assert.deepEqual(preflight(cfg, APP, 'post').out, refused, 'methods are case-sensitive');
  });

  it('refuses a preflight asking for a header that is not allowed', () => {
    assert.deepEqual(preflight(cfg, APP, 'GET', 'authorization, x-admin').out, refused);
  });

  it('leaves the head of its own preflight answers as they are in the response phase', () => {
    for (const origin of [APP, 'https://evil.test']) {
      const { out, ctx } = preflight(cfg, origin, 'GET');
      ctx.reason = out!.reason;
      const head = new ResponseHead(out!.status, ['x-request-id', 'r-1']);
      policyOf(cfg).onResponse!(ctx, head);
      assert.deepEqual(head.headers, ['x-request-id', 'r-1']);
    }
  });

  it('replaces the upstream\'s Access-Control-* headers, so the response has exactly one Allow-Origin', () => {
    const upstream = ['access-control-allow-origin', '*', 'access-control-allow-credentials', 'true', 'access-control-expose-headers', 'x-internal', 'content-type', 'text/plain'];
    const { added } = actual(cfg, { origin: APP }, 'GET', upstream);
    const head = new ResponseHead(200, added);
    assert.deepEqual(head.getAll('access-control-allow-origin'), [APP]);
    assert.deepEqual(head.getAll('access-control-allow-credentials'), []);
    assert.deepEqual(head.getAll('access-control-expose-headers'), ['x-request-id, ratelimit, ratelimit-policy, retry-after']);
    assert.equal(head.get('content-type'), 'text/plain');
  });

  it('removes the upstream\'s Access-Control-Allow-Origin for an origin the route does not allow', () => {
    const { added } = actual(cfg, { origin: 'https://evil.test' }, 'GET', ['access-control-allow-origin', '*']);
    assert.deepEqual(new ResponseHead(200, added).getAll('access-control-allow-origin'), []);
  });

  it('treats OPTIONS without Access-Control-Request-Method as an actual request', () => {
    const { out, added } = actual(cfg, { origin: APP }, 'OPTIONS');
    assert.equal(out, undefined);
    assert.deepEqual(added.slice(0, 4), ['vary', 'Origin', 'access-control-allow-origin', APP]);
  });

  it('treats a request of another method carrying Access-Control-Request-Method as an actual request, not a preflight', () => {
    // Only OPTIONS is a preflight: a GET naming a method it may not use still reaches the upstream.
    const { out, added } = actual(cfg, { origin: APP, 'access-control-request-method': 'DELETE' }, 'GET');
    assert.equal(out, undefined);
    assert.deepEqual(added.slice(0, 4), ['vary', 'Origin', 'access-control-allow-origin', APP]);
  });
});

describe('cors actual requests', () => {
  const cfg = { origins: [APP], credentials: true, exposeHeaders: ['X-Request-Id', 'ETag'] };

  it('passes a request from an allowed origin and adds ACAO, credentials, expose and Vary: Origin', () => {
    const { out, added } = actual(cfg, { origin: APP }, 'POST');
    assert.equal(out, undefined);
    assert.deepEqual(added, [
      'vary', 'Origin',
      'access-control-allow-origin', APP,
      'access-control-allow-credentials', 'true',
      'access-control-expose-headers', 'X-Request-Id, ETag',
    ]);
  });

  it('passes a request from a disallowed origin with only Vary: Origin', () => {
    const { out, added } = actual(cfg, { origin: 'https://evil.test' });
    assert.equal(out, undefined);
    assert.deepEqual(added, ['vary', 'Origin']);
  });

  it('passes a request without Origin with only Vary: Origin', () => {
    const { out, added } = actual(cfg, {});
    assert.equal(out, undefined);
    assert.deepEqual(added, ['vary', 'Origin']);
  });

  it('answers "*" without credentials, and leaves out expose-headers when none are configured', () => {
    const { added } = actual({ origins: ['*'], exposeHeaders: [] }, { origin: 'https://anyone.test' });
    assert.deepEqual(added, ['vary', 'Origin', 'access-control-allow-origin', '*']);
  });

  it('exposes X-Request-ID and the rate limiter\'s headers by default and sends no credentials header by default', () => {
    const { added } = actual({ origins: [APP] }, { origin: APP });
    assert.deepEqual(added, ['vary', 'Origin', 'access-control-allow-origin', APP, 'access-control-expose-headers', 'x-request-id, ratelimit, ratelimit-policy, retry-after']);
  });

  it('has nothing to close', () => {
    assert.equal(policyOf({ origins: [APP] }).close, undefined);
  });
});
