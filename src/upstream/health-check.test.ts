import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { closedPort, startUpstream, type FakeUpstream } from '../../test/helpers/fake-upstream.ts';
import { checkOnce, HealthCount, healthCheckSchema } from './health-check.ts';

describe('healthCheck settings', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(healthCheckSchema.parse({}), { path: '/health', interval: 5000, timeout: 1000, healthyAfter: 2, unhealthyAfter: 3, expectStatus: [200] });
  });

  it('rejects counts below 1, statuses outside 100..599, a path without "/", zero durations and unknown keys', () => {
    for (const bad of [{ healthyAfter: 0 }, { unhealthyAfter: 0 }, { expectStatus: [99] }, { expectStatus: [600] }, { expectStatus: [] }, { path: 'health' }, { interval: 0 }, { timeout: '0ms' }, { every: '5s' }]) {
      assert.equal(healthCheckSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('HealthCount', () => {
  const config = healthCheckSchema.parse({ healthyAfter: 2, unhealthyAfter: 3 });

  it('counts a target healthy until unhealthyAfter checks in a row fail', () => {
    const count = new HealthCount(config);
    assert.equal(count.healthy, true);
    assert.equal(count.record(false, 'ECONNREFUSED'), undefined);
    assert.equal(count.record(false, 'ECONNREFUSED'), undefined);
    assert.equal(count.record(true, 'status 200'), undefined, 'a pass in between starts the run again');
    assert.equal(count.record(false, 'status 503'), undefined);
    assert.equal(count.record(false, 'status 503'), undefined);
    assert.equal(count.record(false, 'status 503'), 'after 3 failed checks (status 503)');
    assert.equal(count.healthy, false);
  });

  it('brings it back after healthyAfter passes in a row', () => {
    const count = new HealthCount(config);
    for (let i = 0; i < 3; i++) count.record(false, 'x');
    assert.equal(count.record(true, 'status 200'), undefined);
    assert.equal(count.record(false, 'x'), undefined);
    assert.equal(count.record(true, 'status 200'), undefined);
    assert.equal(count.record(true, 'status 200'), 'after 2 passed checks');
    assert.equal(count.healthy, true);
  });

  it('says "check" for a run of one', () => {
    const count = new HealthCount(healthCheckSchema.parse({ healthyAfter: 1, unhealthyAfter: 1 }));
    assert.equal(count.record(false, 'status 500'), 'after 1 failed check (status 500)');
    assert.equal(count.record(true, 'status 200'), 'after 1 passed check');
  });
});

describe('checkOnce', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 500);
      else res.writeHead(req.url === '/health' ? 200 : 503).end('ok');
    });
  });
  after(async () => {
    await upstream.close();
  });

  it('passes on an expected status and fails on another, naming it', async () => {
    const client = new Client(upstream.url);
    try {
      assert.deepEqual(await checkOnce(client, '/health', healthCheckSchema.parse({})), { passed: true, detail: 'status 200' });
      assert.deepEqual(await checkOnce(client, '/down', healthCheckSchema.parse({})), { passed: false, detail: 'status 503' });
      assert.deepEqual(await checkOnce(client, '/down', healthCheckSchema.parse({ expectStatus: [200, 503] })), { passed: true, detail: 'status 503' });
      assert.equal(upstream.received.at(-1)?.headers['user-agent'], 'gatehouse-health-check');
    } finally {
      await client.destroy();
    }
  });

  it('fails when no answer comes within the timeout', async () => {
    const client = new Client(upstream.url);
    try {
      assert.deepEqual(await checkOnce(client, '/slow', healthCheckSchema.parse({ timeout: '50ms' })), { passed: false, detail: 'timeout after 50ms' });
    } finally {
      await client.destroy();
    }
  });

  it('fails with the error code when the connection is refused', async () => {
    const client = new Client(`http://127.0.0.1:${await closedPort()}`);
    try {
      assert.deepEqual(await checkOnce(client, '/health', healthCheckSchema.parse({})), { passed: false, detail: 'ECONNREFUSED' });
    } finally {
      await client.destroy();
    }
  });
});
