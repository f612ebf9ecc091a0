import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from '../config/load.ts';
import { tracingSchema } from './tracing-schema.ts';

const BASE = `upstreams:
  u: { targets: [{ url: "http://127.0.0.1:7001" }] }
routes:
  - { name: r, match: { path: / }, upstream: u }
`;

function problems(text: string): string[] {
  const result = loadConfigText(text, 'gatehouse.yaml', {});
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('the tracing section', () => {
  it('is off by default, with the OTLP/HTTP default endpoint, every trace kept when on, and service gatehouse', () => {
    const result = loadConfigText(BASE, 'gatehouse.yaml', {});
    assert.ok(result.ok);
    assert.deepEqual(result.config.tracing, { enabled: false, endpoint: 'http://127.0.0.1:4318/v1/traces', sampleRatio: 1, serviceName: 'gatehouse' });
  });

  it('accepts the documented example', () => {
    const result = loadConfigText(`${BASE}tracing:\n  enabled: true\n  endpoint: https://otel.example.com:4318/v1/traces\n  sampleRatio: 0.1\n  serviceName: edge\n`, 'gatehouse.yaml', {});
    assert.ok(result.ok);
    assert.deepEqual(result.config.tracing, { enabled: true, endpoint: 'https://otel.example.com:4318/v1/traces', sampleRatio: 0.1, serviceName: 'edge' });
  });

  it('refuses a non-HTTP endpoint, a ratio outside 0..1, an empty service name and an unknown key, at their line and column', () => {
    const text = `${BASE}tracing:\n  enabled: true\n  endpoint: grpc://127.0.0.1:4317\n  sampleRatio: 1.5\n  serviceName: ""\n  exporter: otlp\n`;
    const found = problems(text);
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found.find((p) => p.includes('tracing.endpoint'))!, /^gatehouse\.yaml:7:13 tracing\.endpoint: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(found.find((p) => p.includes('tracing.sampleRatio'))!, /^gatehouse\.yaml:8:16 tracing\.sampleRatio: /);
    assert.match(found.find((p) => p.includes('tracing.serviceName'))!, /^gatehouse\.yaml:9:16 tracing\.serviceName: /);
    assert.match(found.find((p) => p.includes('exporter'))!, /^gatehouse\.yaml:10:3 tracing\.exporter: unknown key/);
  });

  it('refuses an endpoint that is not a URL at all', () => {
    assert.equal(tracingSchema.safeParse({ endpoint: 'collector:4318' }).success, false);
    assert.equal(tracingSchema.safeParse({ endpoint: 'http://' }).success, false);
  });
});
