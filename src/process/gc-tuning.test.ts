import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tuneGarbageCollector } from './gc-tuning.ts';

describe('garbage collector tuning', () => {
  it('turns incremental marking off unless GATEHOUSE_INCREMENTAL_MARKING=1 keeps the default', () => {
    assert.equal(tuneGarbageCollector({ GATEHOUSE_INCREMENTAL_MARKING: '1' }), false);
    assert.equal(tuneGarbageCollector({}), true);
  });
});
