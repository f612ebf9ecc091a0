import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tableCell, writeOrCheck } from './generated-doc.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-generated-doc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = promisify(execFile);

/** Runs `fn` with stderr captured; returns its result and what it wrote there. */
function capturingStderr(t: TestContext, fn: () => number): { code: number; stderr: string } {
  let stderr = '';
  t.mock.method(process.stderr, 'write', (chunk: string) => {
    stderr += chunk;
    return true;
  });
  try {
    return { code: fn(), stderr };
  } finally {
    t.mock.restoreAll();
  }
}

describe('writeOrCheck', () => {
  const doc = (name: string) => ({ file: join(dir, name), shownAs: `docs/${name}`, script: 'scripts/gen-x-docs.ts' });

  it('writes the text without --check', (t) => {
    const target = doc('written.md');
    assert.deepEqual(capturingStderr(t, () => writeOrCheck(target, 'fresh\n', false)), { code: 0, stderr: '' });
    assert.equal(readFileSync(target.file, 'utf8'), 'fresh\n');
  });

  it('with --check, passes a file that holds exactly the text and leaves it alone', (t) => {
    const target = doc('same.md');
    writeFileSync(target.file, 'same\n');
    assert.deepEqual(capturingStderr(t, () => writeOrCheck(target, 'same\n', true)), { code: 0, stderr: '' });
    assert.equal(readFileSync(target.file, 'utf8'), 'same\n');
  });

  it('with --check, fails a stale file naming it and the generator, without writing', (t) => {
    const target = doc('stale.md');
    writeFileSync(target.file, 'old\n');
    assert.deepEqual(capturingStderr(t, () => writeOrCheck(target, 'new\n', true)), {
      code: 1, stderr: 'docs/stale.md is out of date: run node scripts/gen-x-docs.ts\n',
    });
    assert.equal(readFileSync(target.file, 'utf8'), 'old\n');
  });

  it('with --check, fails a missing file without creating it', (t) => {
    const target = doc('missing.md');
    assert.equal(capturingStderr(t, () => writeOrCheck(target, 'new\n', true)).code, 1);
    assert.equal(existsSync(target.file), false);
  });
});

describe('tableCell', () => {
  it('escapes "|" and joins lines so a cell stays one cell of one row', () => {
    assert.equal(tableCell('a | b\nc'), 'a \\| b c');
  });
});

describe('the generators\' --check', () => {
  for (const name of ['gen-policies-docs.ts', 'gen-reasons-docs.ts']) {
    it(`${name} exits 0 for the committed file`, async () => {
      await run(process.execPath, [fileURLToPath(new URL(`./${name}`, import.meta.url)), '--check']);
    });
  }
});
