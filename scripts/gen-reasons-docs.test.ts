import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderReasonsDoc, reasonsDocPath } from './gen-reasons-docs.ts';
import { reasons } from '../src/observability/reasons.ts';

it('keeps docs/reasons.md in sync with the reason catalogue', () => {
  assert.equal(readFileSync(reasonsDocPath, 'utf8'), renderReasonsDoc(), 'run: node scripts/gen-reasons-docs.ts');
});

it('names every reason in snake_case with a 4xx or 5xx status, or a 2xx/3xx one documented as not an error', () => {
  for (const [reason, info] of Object.entries(reasons)) {
    assert.match(reason, /^[a-z]+(_[a-z0-9]+)*$/);
    const error = info.status >= 400 && info.status < 600;
    assert.ok(error || (info.status >= 200 && info.status < 400 && info.doc.startsWith('Not an error')), reason);
    assert.ok(info.doc.length > 20, `${reason} needs a real explanation`);
  }
});
