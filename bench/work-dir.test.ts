import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workDirBase } from './work-dir.ts';

describe('the benchmark work dir', () => {
  const ram = mkdtempSync(join(tmpdir(), 'gh-ram-'));

  it('is the RAM-backed directory when it exists and TMPDIR is not set', () => {
    assert.equal(workDirBase({}, ram), ram);
  });

  it('is the system temp dir when TMPDIR is set, or when there is no usable RAM-backed directory', () => {
    assert.equal(workDirBase({ TMPDIR: '/somewhere' }, ram), tmpdir());
    assert.equal(workDirBase({}, join(ram, 'missing')), tmpdir());
    const file = join(ram, 'a-file');
    writeFileSync(file, '');
    assert.equal(workDirBase({}, file), tmpdir());
  });
});
