import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from '../config/load.ts';
import { Exchange } from '../pipeline/exchange.ts';
import { RetryBudget } from './retry-budget.ts';
import { retryAfterMs, retrySchema, RouteRetry, type RetryConfig } from './route-retry.ts';

const BASE = `upstreams:
  orders:
    targets: [{ url: http://127.0.0.1:7001 }]
routes:
  - name: orders
    match: { path: /orders }
    upstream: orders
    retry:
`;

/** The problems of BASE with `lines` under retry (line 9 onwards), formatted file:line:col path: message. */
function problems(lines: string): string[] {
  const result = loadConfigText(BASE + lines, 'gw.yaml', {});
  return result.ok ? [] : result.problems.map(formatProblem);
}

const exchange = (method: string) => new Exchange({ requestId: 'r', method, path: '/orders', query: '', headers: {}, clientIp: '127.0.0.1', start: 1000 });
const policy = (over: Partial<Record<keyof RetryConfig, unknown>> = {}, random = () => 0.5) =>
  new RouteRetry(retrySchema.parse(over), new RetryBudget(), random);

describe('retry schema', () => {
  it('takes the issue\'s example and fills every default', () => {
    const result = loadConfigText(`${BASE}      attempts: 3
      on: [connect-failure, reset, timeout, 502, 503, 504]
      methods: [GET, HEAD, OPTIONS, PUT, DELETE]
      backoff: { base: 25ms, max: 1s }
      perTryTimeout: 2s
      budget: { ratio: 0.2, minPerSecond: 10, window: 10s }
      replayBody: 64KiB
`, 'gw.yaml', {});
    if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
    assert.deepEqual(result.config.routes[0]!.retry, {
      attempts: 3, on: ['connect-failure', 'reset', 'timeout', 502, 503, 504], methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'],
      backoff: { base: 25, max: 1000 }, perTryTimeout: 2000, budget: { ratio: 0.2, minPerSecond: 10, window: 10_000 }, replayBody: 65_536,
    });
    const { perTryTimeout: _, ...rest } = result.config.routes[0]!.retry!;
    assert.deepEqual(retrySchema.parse({}), rest);
  });

  it('gives a config error at the line of each bad value', () => {
    assert.deepEqual(problems('      attempts: 0\n'), ['gw.yaml:9:17 routes[0].retry.attempts: must be >= 1, got 0']);
    assert.deepEqual(problems('      backoff: { base: 2s, max: 1s }\n'), ['gw.yaml:9:33 routes[0].retry.backoff.max: max must be at least base']);
    const on = problems('      on: [reset, 404, retry-later]\n');
    assert.equal(on.length, 2, on.join('\n'));
    assert.match(on[0]!, /^gw\.yaml:9:\d+ routes\[0\]\.retry\.on\[1\]: must be connect-failure, reset, timeout, or a status code/);
    assert.match(on[1]!, /^gw\.yaml:9:24 routes\[0\]\.retry\.on\[2\]: expected "connect-failure" or "reset" or "timeout" or a number, got "retry-later"$/);
    assert.deepEqual(problems('      methods: [GET, "PO ST"]\n'), ['gw.yaml:9:22 routes[0].retry.methods[1]: must be an HTTP method (a token), got "PO ST"']);
    assert.match(problems('      budget: { window: 5m }\n').join(), /^gw\.yaml:9:\d+ routes\[0\]\.retry\.budget\.window: must be from 1s to 60s$/);
    assert.match(problems('      perTryTimeout: 0s\n').join(), /^gw\.yaml:9:22 routes\[0\]\.retry\.perTryTimeout: must be more than 0$/);
    assert.match(problems('      replayBody: lots\n').join(), /^gw\.yaml:9:19 routes\[0\]\.retry\.replayBody: invalid size/);
    assert.match(problems('      tries: 3\n').join(), /^gw\.yaml:9:7 routes\[0\]\.retry\.tries: unknown key/);
  });
});

describe('RouteRetry.shouldRetry', () => {
  it('retries idempotent methods on every outcome listed, and statuses', () => {
    const retry = policy();
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      for (const reason of ['upstream_connect_failure', 'upstream_reset', 'upstream_bad_response', 'upstream_connect_timeout', 'upstream_response_timeout'] as const) {
        assert.equal(retry.shouldRetry(exchange(method), reason, 1), true, `${method} ${reason}`);
      }
      assert.equal(retry.shouldRetry(exchange(method), 503, 1), true, `${method} 503`);
    }
  });

  it('retries POST and PATCH only after a connect failure, whatever headers they carry', () => {
    const retry = policy();
    for (const method of ['POST', 'PATCH']) {
      const ex = exchange(method);
      ex.headers['idempotency-key'] = 'k-1';
      assert.equal(retry.shouldRetry(ex, 'upstream_connect_failure', 1), true);
      for (const failed of ['upstream_reset', 'upstream_response_timeout', 'upstream_connect_timeout', 'upstream_bad_response', 503] as const) {
        assert.equal(retry.shouldRetry(ex, failed, 1), false, `${method} ${failed}`);
      }
    }
  });

  it('retries POST on every outcome when the route lists it', () => {
    assert.equal(policy({ methods: ['POST'] }).shouldRetry(exchange('POST'), 'upstream_reset', 1), true);
    assert.equal(policy({ methods: ['POST'] }).shouldRetry(exchange('GET'), 'upstream_reset', 1), false);
  });

  it('retries only the outcomes listed in on, and never past attempts', () => {
    const retry = policy({ on: ['connect-failure'], attempts: 2 });
    assert.equal(retry.shouldRetry(exchange('GET'), 'upstream_reset', 1), false);
    assert.equal(retry.shouldRetry(exchange('GET'), 'upstream_connect_failure', 1), true);
    assert.equal(retry.shouldRetry(exchange('GET'), 'upstream_connect_failure', 2), false);
    assert.equal(retry.retriesStatus(503), false);
    assert.equal(policy({ attempts: 1 }).shouldRetry(exchange('GET'), 'upstream_connect_failure', 1), false);
  });

  it('never retries the route\'s own timeout, a client abort or a failure after the head', () => {
    const retry = policy();
    for (const reason of ['route_timeout', 'client_aborted', 'upstream_body_error', 'upstream_body_timeout', 'client_body_timeout', 'request_body_too_large', 'policy_error'] as const) {
      assert.equal(retry.shouldRetry(exchange('GET'), reason, 1), false, reason);
    }
  });
});

describe('RouteRetry.backoff', () => {
  it('waits a random share of base doubling per retry, capped at max (full jitter)', () => {
    const top = policy({ backoff: { base: '100ms', max: '1s' } }, () => 0.999_999);
    assert.deepEqual([1, 2, 3, 4, 5, 40].map((n) => top.backoff(n, undefined)), [99, 199, 399, 799, 999, 999]);
    const bottom = policy({}, () => 0);
    assert.equal(bottom.backoff(3, undefined), 0);
  });

  it('waits a Retry-After within max, and refuses one beyond it', () => {
    const retry = policy({ backoff: { base: '10ms', max: '2s' } });
    assert.equal(retry.backoff(1, 1500), 1500);
    assert.equal(retry.backoff(1, 0), 0);
    assert.equal(retry.backoff(1, 3000), -1);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(retryAfterMs('2', now), 2000);
    assert.equal(retryAfterMs(' 0 ', now), 0);
    assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:28:03 GMT', now), 3000);
    assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:27:00 GMT', now), 0, 'a date in the past: at once');
    assert.equal(retryAfterMs(['1', '5'], now), 1000);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs('-1', now), undefined);
  });
});
