import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { policyDefinitions } from '../src/policies/registry.ts';
import { policiesDocPath, renderPoliciesDocs } from './gen-policies-docs.ts';

describe('docs/policies.md', () => {
  it('is what the generator writes from the policy schemas (run node scripts/gen-policies-docs.ts)', () => {
    assert.equal(readFileSync(policiesDocPath, 'utf8'), renderPoliciesDocs());
  });

  it('has a section for every registered policy, each with a settings table', () => {
    const text = renderPoliciesDocs();
    for (const d of policyDefinitions) {
      assert.match(text, new RegExp(`^## \`${d.type}\`$`, 'm'), d.type);
      assert.ok(d.doc.length > 40, `${d.type} has a summary`);
    }
  });
});
