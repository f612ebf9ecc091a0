import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { policyDefinitions } from '../src/policies/policy-registry.ts';
import { policiesDocPath, renderPoliciesDocs } from './gen-policies-docs.ts';

describe('docs/policies.md', () => {
  it('is what the generator writes from the policy schemas (run node scripts/gen-policies-docs.ts)', () => {
    assert.equal(readFileSync(policiesDocPath, 'utf8'), renderPoliciesDocs());
  });

  it('has a section for every registered policy, each with a settings table', () => {
    const text = renderPoliciesDocs();
    const sections = text.split(/^(?=## )/m).slice(1);
    assert.equal(sections.length, policyDefinitions.length, 'one section per policy');
    for (const d of policyDefinitions) {
      assert.ok(d.doc.length > 40, `${d.type} has a summary`);
      const section = sections.find((s) => s.startsWith(`## \`${d.type}\`\n`));
      assert.ok(section, `a section for ${d.type}`);
      assert.ok(section.includes(`\n${d.doc}\n`), `${d.type}: its summary`);
      assert.ok(section.includes('\n| setting | type | default | description |\n|---|---|---|---|\n'), `${d.type}: the settings table header`);
      // The keys come from the schema itself, not from the generator's rowsOf, so a row it drops shows here.
      const table = section.slice(section.indexOf('|---|'));
      assert.ok(d.schema instanceof z.ZodObject, `${d.type}: an object schema`);
      for (const key of Object.keys(d.schema.shape)) {
        assert.match(table, new RegExp(`^\\| \`${key}\` \\| .+ \\| .+ \\| .+ \\|$`, 'm'), `${d.type}: a row for ${key}`);
      }
    }
  });
});
