import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { countLines } from './count-lines.ts';

describe('countLines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-count-lines-'));

  it('counts newline-terminated lines across chunk boundaries, whatever the chunk size', () => {
    const file = join(dir, 'log');
    const text = Array.from({ length: 1000 }, (_, i) => `{"line":${i},"pad":"${'x'.repeat(i % 37)}"}\n`).join('');
    writeFileSync(file, text);
    for (const chunk of [1, 7, 64, 4096, 1 << 20]) assert.equal(countLines(file, chunk), 1000, `chunk ${chunk}`);
  });

  it('does not count an unterminated last line, and gives 0 for an empty or missing file', () => {
    writeFileSync(join(dir, 'partial'), 'a\nb\nc');
    assert.equal(countLines(join(dir, 'partial'), 2), 2);
    writeFileSync(join(dir, 'empty'), '');
    assert.equal(countLines(join(dir, 'empty')), 0);
    assert.equal(countLines(join(dir, 'missing')), 0);
  });
});
