import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policyDefinition, policyDefinitions, policyTypes } from './policy-registry.ts';

// The documented order policies run in (docs/policies.md shows each priority), and which are authentication.
const DOCUMENTED: ReadonlyArray<readonly [type: string, priority: number, kind: 'auth' | 'filter']> = [
  ['ip-filter', 2000, 'filter'],
  ['cors', 1900, 'filter'],
  ['jwt-auth', 1450, 'auth'],
  ['api-key-auth', 1250, 'auth'],
  ['request-size-limit', 950, 'filter'],
  ['content-type-filter', 940, 'filter'],
  ['rate-limit', 900, 'filter'],
  ['header-transform', 800, 'filter'],
  ['idempotency', 10, 'filter'],
  ['request-termination', 2, 'filter'],
];

describe('policy registry', () => {
  it('holds every policy with its documented type, priority and kind', () => {
    assert.deepEqual(policyDefinitions.map((d) => [d.type, d.priority, d.kind]), DOCUMENTED);
    assert.deepEqual(policyTypes, DOCUMENTED.map(([type]) => type));
  });

  it('finds a definition by type, and nothing for an unknown one', () => {
    for (const d of policyDefinitions) assert.equal(policyDefinition(d.type), d);
    assert.equal(policyDefinition('no-such-policy'), undefined);
  });
});
