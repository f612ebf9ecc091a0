import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBatchedDestination, type BatchedDestination, type Encoder } from './batched-destination.ts';

const utf8: Encoder<string> = (buf, pos, text) => pos + buf.write(text, pos);
/** Writes a text line, bounded as UTF-8 can be: 3 bytes per UTF-16 unit. */
const put = (d: BatchedDestination, text: string): void => d.write(text.length * 3, utf8, text);

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'gh-batch-')), 'sub', 'access.log');

describe('batched destination', () => {
  it('holds lines until the batch fills, then writes them in order', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 256, 60_000);
    const line = (c: string) => `${c.repeat(40)}\n`;
    for (const c of 'abcd') put(d, line(c));
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written below the batch size');
    put(d, line('e'));
    assert.equal(readFileSync(file, 'utf8'), 'abcd'.split('').map(line).join(''), 'the full batch went out before the line that did not fit');
    d.close();
    assert.equal(readFileSync(file, 'utf8'), 'abcde'.split('').map(line).join(''));
  });

  it('writes a line longer than the batch on its own, after what it holds', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 64, 60_000);
    put(d, 'short\n');
    put(d, `${'x'.repeat(100)}\n`);
    put(d, 'é\n');
    d.close();
    assert.equal(readFileSync(file, 'utf8'), `short\n${'x'.repeat(100)}\né\n`);
  });

  it('writes what it holds on flush and on close, and ignores lines after close', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 60_000);
    put(d, 'one\n');
    d.flush();
    assert.equal(readFileSync(file, 'utf8'), 'one\n');
    put(d, 'two\n');
    d.close();
    d.close();
    put(d, 'three\n');
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
  });

  it('writes on its interval without any further line', async () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 20);
    put(d, 'tick\n');
    const deadline = Date.now() + 2000;
    while (readFileSync(file, 'utf8') === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(readFileSync(file, 'utf8'), 'tick\n');
    d.close();
  });

  it('writes a line that comes after an idle period without any further line', async () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 20);
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 2000;
      while (readFileSync(file, 'utf8') !== text && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(readFileSync(file, 'utf8'), text);
    };
    put(d, 'one\n');
    await waitFor('one\n');
    // Idle: the timer went off and none is armed until the next line.
    await new Promise((r) => setTimeout(r, 80));
    put(d, 'two\n');
    await waitFor('one\ntwo\n');
    d.close();
  });

  it('appends to an existing file and creates missing folders', () => {
    const file = tempFile();
    const first = createBatchedDestination(file);
    put(first, 'x\n');
    first.close();
    assert.ok(existsSync(file));
    const second = createBatchedDestination(file);
    put(second, 'y\n');
    second.close();
    assert.equal(readFileSync(file, 'utf8'), 'x\ny\n');
  });

  it('on reopen writes what it holds to the rotated file, then appends to a new file at the path', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 60_000);
    put(d, 'before-1\n');
    d.flush();
    put(d, 'before-2\n');
    renameSync(file, `${file}.1`);
    put(d, 'before-3\n');
    d.reopen();
    put(d, 'after\n');
    d.close();
    assert.equal(readFileSync(`${file}.1`, 'utf8'), 'before-1\nbefore-2\nbefore-3\n', 'the batch went to the file it was gathered for');
    assert.equal(readFileSync(file, 'utf8'), 'after\n');
  });

  it('on reopen without a rotation keeps appending to the same file', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 60_000);
    put(d, 'one\n');
    d.reopen();
    put(d, 'two\n');
    d.close();
    d.reopen();
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\n', 'a reopen after close does nothing');
  });

  it('keeps writing to the old file when the path cannot be opened again, and says why', () => {
    const file = tempFile();
    const d = createBatchedDestination(file, 1 << 20, 60_000);
    put(d, 'one\n');
    renameSync(file, `${file}.1`);
    // A directory where the file was: opening it fails even for root (EISDIR).
    mkdirSync(file);
    assert.throws(() => d.reopen(), /EISDIR/);
    put(d, 'two\n');
    d.close();
    assert.equal(readFileSync(`${file}.1`, 'utf8'), 'one\ntwo\n');
  });
});
