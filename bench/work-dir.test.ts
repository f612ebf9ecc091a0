import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { workDirBase } from './work-dir.ts';

describe('the benchmark work dir', () => {
  it('keeps the logs in RAM (/dev/shm) when the machine has it and TMPDIR is not set', () => {
    assert.equal(workDirBase({}), existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  });

  it('uses the TMPDIR the user set', () => {
    assert.equal(workDirBase({ TMPDIR: '/somewhere' }), tmpdir());
  });
});
