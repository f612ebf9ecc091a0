import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from './load.ts';
import { parseThreshold, ruleThreshold } from './alerts-schema.ts';

const BASE = `upstreams:
  users:
    targets:
      - url: http://127.0.0.1:7001
routes:
  - name: users
    match: { path: /api/users }
    upstream: users
`;

function problems(text: string): string[] {
  const result = loadConfigText(text, 'gw.yaml', {});
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('alerts config', () => {
  it('loads rules that name a known route, upstream and webhook', () => {
    const result = loadConfigText(`${BASE}alerts:
  webhooks:
    - { name: ops, url: "http://127.0.0.1:9/hook" }
  rules:
    - { name: slow, signal: p95, route: users, above: 500ms, notify: [ops] }
    - { name: down, signal: available-targets, upstream: users, below: 1 }
    - { name: errors, signal: 5xx-ratio, above: "5%" }
`, 'gw.yaml', {});
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const [slow, down, errors] = result.config.alerts.rules;
    assert.deepEqual(ruleThreshold(slow!), { op: 'above', value: 500 });
    assert.deepEqual(ruleThreshold(down!), { op: 'below', value: 1 });
    assert.deepEqual(ruleThreshold(errors!), { op: 'above', value: 0.05 });
    assert.equal(result.config.alerts.webhooks[0]!.timeout, 2000);
  });

  it('reports an unknown route, upstream or webhook at its line and column', () => {
    assert.deepEqual(problems(`${BASE}alerts:
  webhooks:
    - name: ops
      url: http://127.0.0.1:9/hook
  rules:
    - name: slow
      signal: p95
      route: orders
      above: 500ms
      notify: [ops, pager]
    - name: down
      signal: available-targets
      upstream: carts
      below: 1
`), [
      'gw.yaml:16:14 alerts.rules[0].route: unknown route "orders" (known: users)',
      'gw.yaml:18:21 alerts.rules[0].notify[1]: unknown webhook "pager" (known: ops)',
      'gw.yaml:21:17 alerts.rules[1].upstream: unknown upstream "carts" (known: users)',
    ]);
  });

  it('reports a threshold in the wrong unit and a duplicate rule name at their lines', () => {
    assert.deepEqual(problems(`${BASE}alerts:
  rules:
    - name: slow
      signal: p95
      above: 5%
    - name: slow
      signal: error-ratio
      above: 500ms
`), [
      'gw.yaml:13:14 alerts.rules[0].above: invalid threshold "5%" for p95: use a duration such as "500ms"',
      'gw.yaml:14:13 alerts.rules[1].name: duplicate rule name "slow" (first used by rules[0])',
      'gw.yaml:16:14 alerts.rules[1].above: invalid threshold "500ms" for error-ratio: use a ratio such as 0.05 or "5%"',
    ]);
  });

  it('parses thresholds in each signal\'s unit', () => {
    assert.equal(parseThreshold('p99', '1.5s'), 1500);
    assert.equal(parseThreshold('p50', 250), 250);
    assert.equal(parseThreshold('error-ratio', '12.5%'), 0.125);
    assert.equal(parseThreshold('rate-limited-ratio', 0.2), 0.2);
    assert.equal(parseThreshold('5xx-ratio', 2), undefined);
    assert.equal(parseThreshold('rps', 100), 100);
    assert.equal(parseThreshold('rps', '100'), undefined);
  });
});
