import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../observability/logger.ts';
import type { ErrorReply, LocalReply } from '../pipeline/local-reply.ts';
import { SharedResources } from '../leases/shared-resources.ts';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import { ipFilter, schema } from './ip-filter.ts';

const deps = { log: createLogger('silent'), shared: new SharedResources() };
const policyOf = (cfg: unknown) => ipFilter.create(schema.parse(cfg), deps);
const run = (cfg: unknown, clientIp: string) => policyOf(cfg).onRequest!(testExchange({ clientIp })) as LocalReply | undefined;
const issues = (cfg: unknown) => schema.safeParse(cfg).error?.issues ?? [];

describe('ip-filter schema', () => {
  it('accepts allow, deny or both, with addresses and CIDR blocks of both families', () => {
    for (const cfg of [
      { allow: ['10.0.0.0/8'] },
      { deny: ['203.0.113.9'] },
      { allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.0.0.66', '::1'] },
    ]) assert.equal(schema.safeParse(cfg).success, true, JSON.stringify(cfg));
  });

  it('rejects a config with neither list, or only empty lists', () => {
    for (const cfg of [{}, { allow: [] }, { allow: [], deny: [] }]) {
      assert.deepEqual(issues(cfg).map((i) => i.message), ['set allow, deny or both'], JSON.stringify(cfg));
    }
  });

  it('rejects entries that are not addresses or CIDR blocks, naming the entry', () => {
    const found = issues({ allow: ['10.0.0.0/8', '10.0.0.0/33'], deny: ['localhost'] });
    assert.deepEqual(found.map((i) => i.path), [['allow', 1], ['deny', 0]]);
    for (const issue of found) assert.equal(issue.message, 'must be an IP address or CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32');
  });

  it('rejects a list that is not an array of strings', () => {
    assert.equal(schema.safeParse({ allow: '10.0.0.0/8' }).success, false);
    assert.equal(schema.safeParse({ deny: [42] }).success, false);
  });

  it('rejects an unknown key', () => {
    const found = issues({ allow: ['10.0.0.0/8'], block: ['1.2.3.4'] });
    assert.equal(found[0]?.code, 'unrecognized_keys');
    assert.match(found[0]!.message, /block/);
  });
});

describe('ip-filter', () => {
  it('passes a client on the allow list', () => {
    assert.equal(run({ allow: ['10.0.0.0/8'] }, '10.20.30.40'), undefined);
  });

  it('refuses a client not on the allow list with 403 ip_denied', () => {
    const out = run({ allow: ['10.0.0.0/8'] }, '203.0.113.9');
    assert.deepEqual(out && { status: out.status, reason: out.reason }, { status: 403, reason: 'ip_denied' });
    assert.equal(out?.headers, undefined);
    assert.equal((out as ErrorReply | undefined)?.empty, undefined);
  });

  it('refuses a client on the deny list and passes every other client when there is no allow list', () => {
    const policy = policyOf({ deny: ['203.0.113.0/24'] });
    assert.equal((policy.onRequest!(testExchange({ clientIp: '203.0.113.9' })) as LocalReply | undefined)?.reason, 'ip_denied');
    assert.equal(policy.onRequest!(testExchange({ clientIp: '198.51.100.1' })), undefined);
  });

  it('lets deny win over allow', () => {
    const cfg = { allow: ['10.0.0.0/8'], deny: ['10.0.0.66'] };
    assert.equal(run(cfg, '10.0.0.66')?.reason, 'ip_denied');
    assert.equal(run(cfg, '10.0.0.67'), undefined);
  });

  it('matches IPv6 clients and IPv4-mapped IPv6 clients', () => {
    const cfg = { allow: ['2001:db8::/32', '192.0.2.0/24'] };
    assert.equal(run(cfg, '2001:db8::5'), undefined);
    assert.equal(run(cfg, '2001:db9::5')?.reason, 'ip_denied');
    assert.equal(run(cfg, '::ffff:192.0.2.7'), undefined);
  });

  it('refuses a client whose IP is unknown when an allow list is set', () => {
    assert.equal(run({ allow: ['10.0.0.0/8'] }, '')?.reason, 'ip_denied');
    assert.equal(run({ deny: ['10.0.0.0/8'] }, ''), undefined);
  });

  it('answers synchronously and leaves the context untouched', () => {
    const ctx = testExchange({ clientIp: '203.0.113.9' });
    const out = policyOf({ allow: ['10.0.0.0/8'] }).onRequest!(ctx);
    assert.equal(out instanceof Promise, false);
    assert.equal(ctx.identity, undefined);
    assert.equal(ctx.removedHeaders, undefined);
    assert.equal(ctx.bodyLimit, Infinity);
  });

  it('has nothing to close', () => {
    assert.equal(policyOf({ deny: ['1.2.3.4'] }).close, undefined);
  });
});
