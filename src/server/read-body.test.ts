import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { readWhole } from './read-body.ts';

describe('readWhole', () => {
  it('reads the whole body up to and including the bound', async () => {
    const source = new PassThrough();
    const read = readWhole(source, 6, 1000);
    source.write('abc');
    source.end('def');
    assert.equal((await read).toString(), 'abcdef');
  });

  it('stops at the first byte over the bound and leaves the rest unread', async () => {
    const source = new PassThrough();
    const read = readWhole(source, 4, 1000);
    source.write('abc');
    source.write('de');
    assert.equal(await read, 'too_large');
    assert.equal(source.isPaused(), true);
  });

  it('says aborted when the client goes away before the end', async () => {
    const source = new PassThrough();
    const read = readWhole(source, 100, 1000);
    source.write('abc');
    source.destroy();
    assert.equal(await read, 'aborted');
  });

  it('says timeout after the idle time with no byte, and not while bytes keep coming', async () => {
    const silent = new PassThrough();
    assert.equal(await readWhole(silent, 100, 30), 'timeout');
    const moving = new PassThrough();
    const read = readWhole(moving, 100, 60);
    for (let i = 0; i < 4; i++) {
      moving.write('x');
      await new Promise((r) => setTimeout(r, 25));
    }
    moving.end();
    assert.equal((await read).toString(), 'xxxx');
  });
});
